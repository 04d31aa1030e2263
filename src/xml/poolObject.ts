import type { LockState } from '../domain/lock.js';
import type { Permissions } from '../domain/permissions.js';
import type { PoolObject } from '../domain/poolObject.js';
import { el } from './text.js';

export const renderPermissions = (p: Permissions) =>
  `<PERMISSIONS><OWNER_U>${p.ownerU}</OWNER_U><OWNER_M>${p.ownerM}</OWNER_M><OWNER_A>${p.ownerA}</OWNER_A>`
  + `<GROUP_U>${p.groupU}</GROUP_U><GROUP_M>${p.groupM}</GROUP_M><GROUP_A>${p.groupA}</GROUP_A>`
  + `<OTHER_U>${p.otherU}</OTHER_U><OTHER_M>${p.otherM}</OTHER_M><OTHER_A>${p.otherA}</OTHER_A></PERMISSIONS>`;

/** <LOCK> only while locked (PoolObjectSQL::lock_db_to_xml). */
export const renderLock = (l: LockState) => (l.locked === 0 ? ''
  : `<LOCK><LOCKED>${l.locked}</LOCKED><OWNER>${l.owner}</OWNER><TIME>${l.time}</TIME><REQ_ID>${l.reqId}</REQ_ID></LOCK>`);

/** ID, UID, GID, UNAME, GNAME, NAME: the head every owned object document starts with. */
export const renderOwnership = (o: PoolObject) =>
  `${el('ID', o.id)}${el('UID', o.uid)}${el('GID', o.gid)}${el('UNAME', o.uname)}${el('GNAME', o.gname)}${el('NAME', o.name)}`;
