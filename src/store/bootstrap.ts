import { AclSelector, Op } from '../domain/authorization.js';
import { aclResourceBit, type ObjectType } from '../domain/objectTypes.js';
import { FIRST_USER_DATASTORE_ID } from '../domain/datastore.js';
import { randomHex64, sha256Hex } from '../domain/password.js';
import { Template } from '../domain/template.js';
import { addDefaultVdcRulesSql } from './vdc.js';
import { insertAclRule } from './acl.js';
import { clusterTable, defaultCluster } from './clusters.js';
import type { Database, Queryable } from './database.js';
import { bootstrapDatastores, datastoreTable } from './datastores.js';
import { insertGroup } from './groups.js';
import { reserveOidsBelow } from './poolControl.js';
import { setSystemAttribute } from './systemAttributes.js';
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

  const datastores = bootstrapDatastores();
  await clusterTable.insert(tx, defaultCluster(datastores.map((ds) => ds.id)));
  await reserveOidsBelow(tx, 'cluster_pool', 100);
  for (const ds of datastores) await datastoreTable.insert(tx, ds);
  await reserveOidsBelow(tx, 'datastore_pool', FIRST_USER_DATASTORE_ID);
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
