import type { Cluster } from '../store/clusters.js';
import { el, idList } from './text.js';

/** Cluster::to_xml without a placement plan (oned adds PLAN only while one is pending). */
export function renderCluster(c: Cluster): string {
  return `<CLUSTER>${el('ID', c.id)}${el('NAME', c.name)}${idList('HOSTS', c.hosts)}${idList('DATASTORES', c.datastores)}`
    + `${idList('VNETS', c.vnets)}${c.template.toXml('TEMPLATE')}</CLUSTER>`;
}

export const renderClusterPool = (clusters: readonly Cluster[]) =>
  `<CLUSTER_POOL>${clusters.map(renderCluster).join('')}</CLUSTER_POOL>`;
