import type { BackupIncrement, Image } from '../domain/image.js';
import { Template } from '../domain/template.js';
import { renderLock, renderOwnership, renderPermissions } from './poolObject.js';
import { cdata, el, idList } from './text.js';

/** BackupIncrements::to_xml: a template of INCREMENT vectors, in increment order, values in CDATA. */
function renderIncrements(increments: readonly BackupIncrement[]): string {
  const t = new Template();
  for (const inc of [...increments].sort((a, b) => a.id - b.id)) {
    t.add({ kind: 'vector', name: 'INCREMENT', value: new Map([
      ['DATE', String(inc.date)], ['ID', String(inc.id)], ['PARENT_ID', String(inc.parentId)], ['SIZE', String(inc.size)],
      ['SOURCE', inc.source], ['TYPE', inc.type],
    ]) });
  }
  return t.toXml('BACKUP_INCREMENTS');
}

/**
 * Image::to_xml: the same body for one.image.info and one.imagepool.info. SOURCE, PATH, FORMAT and FS are CDATA;
 * NAME and DATASTORE are written raw by oned, escaped here so the document stays well formed.
 */
export function renderImage(i: Image): string {
  return `<IMAGE>${renderOwnership(i)}${renderLock(i.lock)}${renderPermissions(i.permissions)}`
    + `${el('TYPE', i.type)}${el('DISK_TYPE', i.diskType)}${el('PERSISTENT', i.persistent)}${el('REGTIME', i.regtime)}`
    + `${el('MODTIME', i.modtime)}<SOURCE>${cdata(i.source)}</SOURCE><PATH>${cdata(i.path)}</PATH>`
    + `<FORMAT>${cdata(i.format)}</FORMAT><FS>${cdata(i.fs)}</FS>${el('SIZE', i.size)}${el('STATE', i.state)}`
    + `${el('PREV_STATE', i.prevState)}${el('RUNNING_VMS', i.runningVms)}${el('CLONING_OPS', i.cloningOps)}`
    + `${el('CLONING_ID', i.cloningId)}${el('TARGET_SNAPSHOT', i.targetSnapshot)}${el('DATASTORE_ID', i.datastoreId)}`
    + `${el('DATASTORE', i.datastore)}${idList('VMS', i.vms)}${idList('CLONES', i.clones)}${idList('APP_CLONES', i.appClones)}`
    + `${i.template.toXml('TEMPLATE')}${i.snapshots.toXml('SNAPSHOTS')}${renderIncrements(i.backupIncrements)}`
    + `${idList('BACKUP_DISK_IDS', i.backupDiskIds)}</IMAGE>`;
}

export const renderImagePool = (images: readonly Image[]) => `<IMAGE_POOL>${images.map(renderImage).join('')}</IMAGE_POOL>`;
