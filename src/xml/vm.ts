import type { SchedAction } from '../domain/schedAction.js';
import type { HistoryRecord, Vm } from '../domain/vm.js';
import { renderSchedAction } from './backupJob.js';
import { renderLock, renderOwnership, renderPermissions } from './poolObject.js';
import { cdata, el, esc, idList } from './text.js';

function renderHistory(vmId: number, h: HistoryRecord): string {
  return `<HISTORY>${el('OID', vmId)}${el('SEQ', h.seq)}${el('HOSTNAME', h.hostname)}${el('HID', h.hid)}${el('CID', h.cid)}`
    + `${el('STIME', h.stime)}${el('ETIME', h.etime)}<VM_MAD>${cdata(h.vmMad)}</VM_MAD><TM_MAD>${cdata(h.tmMad)}</TM_MAD>`
    + `${el('DS_ID', h.dsId)}${el('PLAN_ID', h.planId)}${el('ACTION_ID', h.actionId)}${el('PSTIME', h.pstime)}${el('PETIME', h.petime)}`
    + `${el('RSTIME', h.rstime)}${el('RETIME', h.retime)}${el('ESTIME', h.estime)}${el('EETIME', h.eetime)}${el('ACTION', h.action)}`
    + `${el('UID', h.uid)}${el('GID', h.gid)}${el('REQUEST_ID', h.requestId)}</HISTORY>`;
}

/** BACKUPS (Backups::to_xml): the config sorted with CDATA values, <BACKUP_CONFIG/> when empty. */
export function renderBackups(vm: Vm): string {
  const keys = Object.keys(vm.backups.config).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const config = keys.length === 0 ? '<BACKUP_CONFIG/>'
    : `<BACKUP_CONFIG>${keys.map((k) => `<${k}>${cdata(vm.backups.config[k])}</${k}>`).join('')}</BACKUP_CONFIG>`;
  return `<BACKUPS>${config}${idList('BACKUP_IDS', vm.backups.ids)}</BACKUPS>`;
}

function head(vm: Vm): string {
  return `${renderOwnership(vm)}${renderPermissions(vm.permissions)}${el('LAST_POLL', vm.lastPoll)}${el('STATE', vm.state)}`
    + `${el('LCM_STATE', vm.lcmState)}${el('PREV_STATE', vm.state)}${el('PREV_LCM_STATE', vm.lcmState)}${el('RESCHED', vm.resched)}`
    + `${el('STIME', vm.stime)}${el('ETIME', vm.etime)}${el('DEPLOY_ID', vm.deployId)}${renderLock(vm.lock)}<MONITORING></MONITORING>`
    + `${idList('SCHED_ACTIONS', vm.schedActions)}`;
}

const historyRecords = (vm: Vm, records: readonly HistoryRecord[]) =>
  (records.length === 0 ? '<HISTORY_RECORDS/>' : `<HISTORY_RECORDS>${records.map((h) => renderHistory(vm.id, h)).join('')}</HISTORY_RECORDS>`);

/** one.vm.info: every history record, SCHED_ACTION elements after the TEMPLATE attributes. */
export function renderVm(vm: Vm, schedActions: readonly SchedAction[]): string {
  const extra = [...schedActions].sort((a, b) => a.id - b.id).map(renderSchedAction).join('');
  return `<VM>${head(vm)}${vm.template.toXml('TEMPLATE', extra)}${vm.userTemplate.toXml('USER_TEMPLATE')}`
    + `${historyRecords(vm, vm.history)}${renderBackups(vm)}</VM>`;
}

/** The stored body (one.vmpool.infoextended): the last history record only, no SCHED_ACTION elements. */
export function renderVmExtended(vm: Vm): string {
  return `<VM>${head(vm)}${vm.template.toXml('TEMPLATE')}${vm.userTemplate.toXml('USER_TEMPLATE')}`
    + `${historyRecords(vm, vm.history.slice(-1))}${renderBackups(vm)}</VM>`;
}

const SHORT_DISK_KEYS = ['DISK_ID', 'DATASTORE', 'DATASTORE_ID', 'IMAGE', 'IMAGE_ID', 'SIZE', 'TYPE', 'CLONE', 'CLONE_TARGET',
  'LN_TARGET', 'DISK_SNAPSHOT_TOTAL_SIZE'];
const SHORT_NIC_OPTIONAL = ['IP', 'EXTERNAL_IP', 'IP6', 'IP6_ULA', 'IP6_LINK', 'IP6_GLOBAL', 'NETWORK_MODE', 'SCHED_REQUIREMENTS', 'SCHED_RANK'];
const SHORT_NIC_KEYS = ['MAC', 'NETWORK', 'NETWORK_ID', 'NIC_ID', 'SECURITY_GROUPS'];
const SHORT_USER_KEYS = ['LABELS', 'ERROR', 'SCHED_MESSAGE', 'SCHED_RANK', 'SCHED_DS_RANK', 'SCHED_REQUIREMENTS',
  'SCHED_DS_REQUIREMENTS', 'USER_PRIORITY'];

/** VirtualMachine::to_xml_short: the body one.vmpool.info lists. */
export function renderVmShort(vm: Vm): string {
  const t = vm.template;
  const raw = (k: string) => `<${k}>${esc(t.get(k) ?? '')}</${k}>`;
  const disks = t.getVectors('DISK').map((d) => `<DISK>${SHORT_DISK_KEYS.map((k) => `<${k}>${cdata(d.get(k) ?? '')}</${k}>`).join('')}</DISK>`).join('');
  const nics = t.getVectors('NIC').map((n) => `<NIC>${SHORT_NIC_OPTIONAL.filter((k) => (n.get(k) ?? '') !== '').map((k) => `<${k}>${cdata(n.get(k)!)}</${k}>`).join('')}`
    + `${SHORT_NIC_KEYS.map((k) => `<${k}>${cdata(n.get(k) ?? '')}</${k}>`).join('')}</NIC>`).join('');
  const graphics = t.getVectors('GRAPHICS')[0];
  const graphicsXml = graphics ? `<GRAPHICS>${[...graphics.keys()].sort().map((k) => `<${k}>${cdata(graphics.get(k)!)}</${k}>`).join('')}</GRAPHICS>` : '';
  const u = vm.userTemplate;
  const userParts = SHORT_USER_KEYS.filter((k) => u.get(k) !== undefined && (!['LABELS', 'ERROR', 'SCHED_MESSAGE'].includes(k) || u.get(k) !== ''))
    .map((k) => `<${k}>${cdata(u.get(k)!)}</${k}>`).join('')
    + u.getVectors('SCHED_ACTION').map((v) => `<SCHED_ACTION>${[...v.keys()].sort().map((k) => `<${k}>${cdata(v.get(k)!)}</${k}>`).join('')}</SCHED_ACTION>`).join('');
  const userTemplate = u.isEmpty() ? '<USER_TEMPLATE/>' : `<USER_TEMPLATE>${userParts}</USER_TEMPLATE>`;
  const last = vm.history[vm.history.length - 1];
  const history = last
    ? `<HISTORY_RECORDS><HISTORY>${el('OID', vm.id)}${el('SEQ', last.seq)}<HOSTNAME>${cdata(last.hostname)}</HOSTNAME>${el('HID', last.hid)}`
      + `${el('CID', last.cid)}${el('DS_ID', last.dsId)}<VM_MAD>${cdata(last.vmMad)}</VM_MAD><TM_MAD>${cdata(last.tmMad)}</TM_MAD>`
      + `<ACTION>${cdata(String(last.action))}</ACTION></HISTORY></HISTORY_RECORDS>`
    : '<HISTORY_RECORDS/>';
  const lock = vm.lock.locked === 0 ? '' : `<LOCK><LOCKED>${vm.lock.locked}</LOCKED></LOCK>`;
  return `<VM>${renderOwnership(vm)}${el('LAST_POLL', vm.lastPoll)}${el('STATE', vm.state)}${el('LCM_STATE', vm.lcmState)}`
    + `${el('RESCHED', vm.resched)}${el('STIME', vm.stime)}${el('ETIME', vm.etime)}${el('DEPLOY_ID', vm.deployId)}${lock}`
    + `<TEMPLATE>${raw('CPU')}${raw('MEMORY')}${raw('VCPU')}${disks}${nics}${graphicsXml}</TEMPLATE><MONITORING/>`
    + `${userTemplate}${history}</VM>`;
}
