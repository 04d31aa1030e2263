import type { Host, HostMonitoring } from '../domain/host.js';
import { cdata, el, idList } from './text.js';

/** A Template-like element of numbers: children in the given (sorted) order, values in CDATA. */
const numberTemplate = (root: string, values: Array<[string, number]>) =>
  `<${root}>${values.map(([name, v]) => `<${name}>${cdata(String(v))}</${name}>`).join('')}</${root}>`;

/** HostMonitoringTemplate::to_xml: TIMESTAMP and ID raw, CAPACITY and SYSTEM as templates. */
export function renderHostMonitoring(m: HostMonitoring): string {
  return `<MONITORING>${el('TIMESTAMP', m.timestamp)}${el('ID', m.hostId)}`
    + numberTemplate('CAPACITY', [['FREE_CPU', m.freeCpu], ['FREE_MEMORY', m.freeMemory], ['USED_CPU', m.usedCpu],
      ['USED_MEMORY', m.usedMemory]])
    + numberTemplate('SYSTEM', [['NETRX', m.netRx], ['NETTX', m.netTx]])
    + '</MONITORING>';
}

/** HostShare::to_xml; DATASTORES is empty until the host is first monitored. */
function renderHostShare(host: Host): string {
  const s = host.share;
  const ds = s.datastores;
  const datastores = ds
    ? numberTemplate('DATASTORES', [['DISK_USAGE', ds.diskUsage], ['FREE_DISK', ds.freeDisk], ['MAX_DISK', ds.maxDisk],
      ['USED_DISK', ds.usedDisk]])
    : '<DATASTORES></DATASTORES>';
  return `<HOST_SHARE>${el('MEM_USAGE', s.memUsage)}${el('CPU_USAGE', s.cpuUsage)}${el('TOTAL_MEM', s.totalMem)}`
    + `${el('TOTAL_CPU', s.totalCpu)}${el('MAX_MEM', s.maxMem)}${el('MAX_CPU', s.maxCpu)}${el('RUNNING_VMS', s.runningVms)}`
    + `${el('VMS_THREAD', s.vmsThread)}${datastores}<PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES></HOST_SHARE>`;
}

/**
 * Host::to_xml. No UID/GID/PERMISSIONS; PREV_STATE equals STATE because oned copies it at every save. `monitoring` is
 * the loaded last record (one.host.info); without it (pools, or never monitored) the element is `<MONITORING/>`.
 */
export function renderHost(host: Host, monitoring?: HostMonitoring): string {
  return `<HOST>${el('ID', host.id)}${el('NAME', host.name)}${el('STATE', host.state)}${el('PREV_STATE', host.state)}`
    + `<IM_MAD>${cdata(host.imMad)}</IM_MAD><VM_MAD>${cdata(host.vmMad)}</VM_MAD>`
    + `${el('CLUSTER_ID', host.clusterId)}${el('CLUSTER', host.clusterName)}${renderHostShare(host)}`
    + `${idList('VMS', host.vms)}${host.template.toXml('TEMPLATE')}`
    + `${monitoring ? renderHostMonitoring(monitoring) : '<MONITORING/>'}</HOST>`;
}

export const renderHostPool = (hosts: readonly Host[]) => `<HOST_POOL>${hosts.map((h) => renderHost(h)).join('')}</HOST_POOL>`;

/** one.host.monitoring: every stored record, oldest first. */
export const renderHostMonitoringData = (records: readonly HostMonitoring[]) =>
  `<MONITORING_DATA>${records.map(renderHostMonitoring).join('')}</MONITORING_DATA>`;
