import { AclSelector } from '../domain/authorization.js';
import { defaultVdcRules } from '../domain/vdc.js';
import { insertAclRule } from './acl.js';
import type { Queryable } from './database.js';
import { nextOid } from './poolControl.js';

/** Adds the ACL rules VDC 0 gives a group it contains. */
export async function addDefaultVdcRulesSql(q: Queryable, gid: number): Promise<void> {
  for (const rule of defaultVdcRules(gid)) {
    await insertAclRule(q, {
      id: await nextOid(q, 'acl'), user: AclSelector.GROUP | BigInt(gid), resource: rule.resource, rights: rule.rights,
      zone: AclSelector.INDIVIDUAL | 0n,
    });
  }
}
