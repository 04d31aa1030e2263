import { datastoreBasePath, type Datastore, type DatastoreCapacity } from '../domain/datastore.js';
import { renderOwnership, renderPermissions } from './poolObject.js';
import { cdata, el, idList } from './text.js';

/** Datastore::to_xml, with the capacity and image ids that follow the image pool. Datastores have no LOCK. */
export function renderDatastore(ds: Datastore, capacity: DatastoreCapacity, images: readonly number[]): string {
  return `<DATASTORE>${renderOwnership(ds)}${renderPermissions(ds.permissions)}`
    + `<DS_MAD>${cdata(ds.dsMad)}</DS_MAD><TM_MAD>${cdata(ds.tmMad)}</TM_MAD>`
    + `<BASE_PATH>${cdata(datastoreBasePath(ds.id))}</BASE_PATH>${el('TYPE', ds.type)}${el('DISK_TYPE', ds.diskType)}`
    + `${el('STATE', ds.state)}${idList('CLUSTERS', ds.clusters)}${el('TOTAL_MB', capacity.totalMb)}`
    + `${el('FREE_MB', capacity.freeMb)}${el('USED_MB', capacity.usedMb)}${idList('IMAGES', images)}`
    + `${ds.template.toXml('TEMPLATE')}</DATASTORE>`;
}

export const renderDatastorePool = (documents: readonly string[]) => `<DATASTORE_POOL>${documents.join('')}</DATASTORE_POOL>`;
