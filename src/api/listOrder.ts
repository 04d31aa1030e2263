import { getGroup } from '../store/groups.js';
import { getUser } from '../store/users.js';
import type { Request } from './app.js';

/**
 * API_LIST_ORDER for this caller (Nebula::get_configuration_attribute): an OPENNEBULA = [ API_LIST_ORDER = … ]
 * vector in the user's template, else in its group's, else oned.conf's.
 */
export async function listOrder(req: Request): Promise<'ASC' | 'DESC'> {
  const fromTemplate = (vectors: Array<Map<string, string>> | undefined) => {
    const v = vectors?.[0]?.get('API_LIST_ORDER')?.toUpperCase();
    return v === 'ASC' || v === 'DESC' ? v : undefined;
  };
  const user = await getUser(req.app.db, req.caller.uid);
  const own = fromTemplate(user?.template.getVectors('OPENNEBULA'));
  if (own) return own;
  const group = await getGroup(req.app.db, req.caller.gid);
  return fromTemplate(group?.template.getVectors('OPENNEBULA')) ?? req.app.config.API_LIST_ORDER;
}
