import { AclSelector, Op } from '../domain/authorization.js';
import { aclResourceBit, type ObjectType } from '../domain/objectTypes.js';
import { permissionsFromOctal } from '../domain/permissions.js';
import { randomHex64, sha256Hex } from '../domain/password.js';
import { Template } from '../domain/template.js';
import { addDefaultVdcRulesSql } from './vdc.js';
import { insertAclRule } from './acl.js';
import type { Database, Queryable } from './database.js';
import { insertGroup } from './groups.js';
import { reserveOidsBelow } from './poolControl.js';
import { setSystemAttribute } from './systemAttributes.js';
import { templateToJson } from './templateJson.js';
import { insertUser } from './users.js';

/** Advisory-lock key under which one process bootstraps a fresh database. */
const BOOTSTRAP_LOCK = 0x0ed0_0002;

export interface OneadminCredentials { name: string; password: string }

const typesBits = (types: ObjectType[]) => types.reduce((acc, t) => acc | aclResourceBit(t), 0n);

/** The rules AclManager creates on a fresh oned (ids 0-2). */
const CORE_ACL_RULES = [
  { user: AclSelector.GROUP | 1n, resource: typesBits(['VM', 'IMAGE', 'TEMPLATE', 'DOCUMENT', 'SECGROUP', 'VMGROUP', 'BACKUPJOB']) | AclSelector.ALL, rights: BigInt(Op.CREATE) },
  { user: AclSelector.ALL, resource: typesBits(['ZONE']) | AclSelector.ALL, rights: BigInt(Op.USE) },
  { user: AclSelector.ALL, resource: typesBits(['MARKETPLACE', 'MARKETPLACEAPP']) | AclSelector.ALL, rights: BigInt(Op.USE) },
];

/** The bootstrap datastores of DatastorePool (ids 0-2), owned by oneadmin:oneadmin with umask 0137. */
function bootstrapDatastores() {
  const common = [['ALLOW_ORPHANS', 'FORMAT'], ['PERSISTENT_SNAPSHOTS', 'YES'], ['RESTRICTED_DIRS', '/'], ['SAFE_DIRS', '/var/tmp']];
  const ds = (id: number, name: string, type: number, dsMad: string, extra: string[][]) => {
    const template = new Template();
    for (const [k, v] of [...common, ...extra]) template.set(k, v);
    return { id, name, body: {
      uname: 'oneadmin', gname: 'oneadmin', dsMad, tmMad: 'local', basePath: `/var/lib/one//datastores/${id}`, type,
      diskType: 0, state: 0, clusters: [0], totalMb: 0, freeMb: 0, usedMb: 0, images: [] as number[],
      template: templateToJson(template),
    } };
  };
  return [
    ds(0, 'system', 1, '-', [['DISK_TYPE', 'FILE'], ['DS_LIVE_MIGRATE', 'YES'], ['DS_MIGRATE', 'YES'], ['DS_MIGRATE_SNAP', 'YES'],
      ['SHARED', 'NO'], ['TM_MAD', 'local'], ['TYPE', 'SYSTEM_DS']]),
    ds(1, 'default', 0, 'fs', [['CLONE_TARGET', 'SYSTEM'], ['DISK_TYPE', 'FILE'], ['DS_MAD', 'fs'], ['LN_TARGET', 'SYSTEM'],
      ['TM_MAD', 'local'], ['TYPE', 'IMAGE_DS']]),
    ds(2, 'files', 2, 'fs', [['CLONE_TARGET', 'SYSTEM'], ['DS_MAD', 'fs'], ['LN_TARGET', 'SYSTEM'], ['TM_MAD', 'local'],
      ['TYPE', 'FILE_DS']]),
  ];
}

async function createFreshCloud(tx: Queryable, oneadmin: OneadminCredentials): Promise<void> {
  const tokenTemplate = () => {
    const t = new Template();
    t.set('TOKEN_PASSWORD', randomHex64());
    return t;
  };
  const usersTemplate = Template.parse('SUNSTONE = [ DEFAULT_VIEW = "cloud", GROUP_ADMIN_DEFAULT_VIEW = "groupadmin", '
    + 'GROUP_ADMIN_VIEWS = "groupadmin,cloud", VIEWS = "cloud" ]');
  await insertGroup(tx, { id: 0, name: 'oneadmin', template: new Template(), users: [0, 1], admins: [] });
  await insertGroup(tx, { id: 1, name: 'users', template: usersTemplate, users: [], admins: [] });
  await insertUser(tx, {
    id: 0, name: oneadmin.name, gid: 0, groups: [0], gname: 'oneadmin', password: sha256Hex(oneadmin.password),
    authDriver: 'core', enabled: true, loginTokens: [], template: tokenTemplate(),
  });
  // serveradmin's secret is only used by OpenNebula's server-side components, which oned-emu does not run.
  await insertUser(tx, {
    id: 1, name: 'serveradmin', gid: 0, groups: [0], gname: 'oneadmin', password: sha256Hex(randomHex64()),
    authDriver: 'server_cipher', enabled: true, loginTokens: [], template: tokenTemplate(),
  });
  await reserveOidsBelow(tx, 'user_pool', 2);
  await reserveOidsBelow(tx, 'group_pool', 100);

  let aclId = 0;
  for (const rule of CORE_ACL_RULES) {
    await insertAclRule(tx, { id: aclId++, ...rule, zone: AclSelector.ALL });
  }
  await reserveOidsBelow(tx, 'acl', aclId);
  await addDefaultVdcRulesSql(tx, 1);

  const clusterPerms = permissionsFromOctal(0o640);
  await tx.query(
    `INSERT INTO cluster_pool (oid, name, body, uid, gid, owner_u, group_u, other_u) VALUES (0, 'default', $1, 0, 0, $2, $3, $4)`,
    [JSON.stringify({ uname: 'oneadmin', gname: 'oneadmin', hosts: [], datastores: [0, 1, 2], vnets: [], template: [] }),
      clusterPerms.ownerU, clusterPerms.groupU, clusterPerms.otherU]);
  await reserveOidsBelow(tx, 'cluster_pool', 100);

  const dsPerms = permissionsFromOctal(0o777 & ~0o137);
  for (const ds of bootstrapDatastores()) {
    await tx.query(
      `INSERT INTO datastore_pool (oid, name, body, uid, gid, owner_u, group_u, other_u) VALUES ($1, $2, $3, 0, 0, $4, $5, $6)`,
      [ds.id, ds.name, JSON.stringify({ ...ds.body, permissions: dsPerms }), dsPerms.ownerU, dsPerms.groupU, dsPerms.otherU]);
  }
  await reserveOidsBelow(tx, 'datastore_pool', 100);
  await setSystemAttribute(tx, 'ONE_KEY', randomHex64());
}

/**
 * Makes a fresh database look like a fresh oned (users, groups, ACLs, cluster, datastores). Runs once, under an
 * advisory lock so concurrent first starts agree; credentials are asked for only when the cloud is created.
 * Returns true when it created the cloud.
 */
export async function bootstrap(db: Database, credentials: () => Promise<OneadminCredentials>): Promise<boolean> {
  return db.withAdvisoryLock(BOOTSTRAP_LOCK, async () => {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM user_pool WHERE oid = 0`);
    if (rows[0].n > 0) return false;
    const oneadmin = await credentials();
    await db.transaction((tx) => createFreshCloud(tx, oneadmin));
    return true;
  });
}
