/** OpenNebula object types as oned names them: type_to_str for authorization messages, the request logger's
 *  lower-case name for "Error getting <name> [id]." messages, and the ACL resource bit of each type. */
export type ObjectType =
  | 'VM' | 'HOST' | 'NET' | 'IMAGE' | 'USER' | 'TEMPLATE' | 'GROUP' | 'ACL' | 'DATASTORE' | 'CLUSTER'
  | 'DOCUMENT' | 'ZONE' | 'SECGROUP' | 'VDC' | 'VROUTER' | 'MARKETPLACE' | 'MARKETPLACEAPP' | 'VMGROUP'
  | 'VNTEMPLATE' | 'BACKUPJOB' | 'SCHEDULEDACTION';

/** RequestLogger::object_name. */
export const OBJECT_NAME: Record<ObjectType, string> = {
  VM: 'virtual machine', HOST: 'host', NET: 'virtual network', IMAGE: 'image', USER: 'user',
  TEMPLATE: 'virtual machine template', GROUP: 'group', ACL: 'ACL', DATASTORE: 'datastore', CLUSTER: 'cluster',
  DOCUMENT: 'document', ZONE: 'zone', SECGROUP: 'security group', VDC: 'VDC', VROUTER: 'virtual router',
  MARKETPLACE: 'marketplace', MARKETPLACEAPP: 'marketplaceapp', VMGROUP: 'vm group',
  VNTEMPLATE: 'virtual network template', BACKUPJOB: 'backup job', SCHEDULEDACTION: 'scheduled action',
};

/** ACL resource-type bits (PoolObjectSQL::ObjectType values), in the order oned prints them in rule strings. */
export const ACL_RESOURCE_BITS: ReadonlyArray<readonly [ObjectType, bigint]> = [
  ['VM', 0x1000000000n], ['HOST', 0x2000000000n], ['NET', 0x4000000000n], ['IMAGE', 0x8000000000n],
  ['USER', 0x10000000000n], ['TEMPLATE', 0x20000000000n], ['GROUP', 0x40000000000n],
  ['DATASTORE', 0x100000000000n], ['CLUSTER', 0x200000000000n], ['DOCUMENT', 0x400000000000n],
  ['ZONE', 0x800000000000n], ['SECGROUP', 0x1000000000000n], ['VDC', 0x2000000000000n],
  ['VROUTER', 0x4000000000000n], ['MARKETPLACE', 0x8000000000000n], ['MARKETPLACEAPP', 0x10000000000000n],
  ['VMGROUP', 0x20000000000000n], ['VNTEMPLATE', 0x40000000000000n], ['BACKUPJOB', 0x100000000000000n],
];
export const ACL_BIT_ACL = 0x80000000000n;

export function aclResourceBit(type: ObjectType): bigint {
  if (type === 'ACL') return ACL_BIT_ACL;
  const entry = ACL_RESOURCE_BITS.find(([t]) => t === type);
  if (!entry) throw new Error(`object type ${type} has no ACL bit`);
  return entry[1];
}
