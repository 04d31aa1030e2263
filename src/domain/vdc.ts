import { AclSelector, Op } from './authorization.js';
import { aclResourceBit } from './objectTypes.js';

/** VDC 0 ("default") holds every resource of zone 0; each of its groups gets these rules, zone #0 (Vdc.cc). */
export function defaultVdcRules(gid: number): Array<{ gid: number; resource: bigint; rights: bigint }> {
  const all = AclSelector.ALL;
  return [
    { gid, resource: aclResourceBit('HOST') | all, rights: BigInt(Op.MANAGE) },
    { gid, resource: aclResourceBit('NET') | all, rights: BigInt(Op.USE) },
    { gid, resource: aclResourceBit('DATASTORE') | all, rights: BigInt(Op.USE) },
  ];
}
