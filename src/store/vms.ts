import type { HistoryRecord, Vm, VmBackups } from '../domain/vm.js';
import type { Queryable } from './database.js';
import { commonBody, commonFromRow, PoolTable } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface VmBody {
  lastPoll: number; state: number; lcmState: number; resched: number; stime: number; etime: number; deployId: string;
  schedActions: number[]; template: TemplateJson; userTemplate: TemplateJson; history: HistoryRecord[]; backups: VmBackups;
}

/** vm_pool: the whole VM in jsonb; state columns for the pool's state filter and the scheduler's queries.
 *  body->'backups'->'config' is also read and written by src/store/vmBackupConfig.ts. */
export const vmTable = new PoolTable<Vm>(
  'vm_pool',
  (vm) => ({
    ...commonBody(vm), lastPoll: vm.lastPoll, state: vm.state, lcmState: vm.lcmState, resched: vm.resched, stime: vm.stime,
    etime: vm.etime, deployId: vm.deployId, schedActions: [...new Set(vm.schedActions)].sort((a, b) => a - b),
    template: templateToJson(vm.template), userTemplate: templateToJson(vm.userTemplate), history: vm.history,
    backups: { config: vm.backups.config, ids: [...new Set(vm.backups.ids)].sort((a, b) => a - b) },
  }),
  (row) => {
    const b = row.body as unknown as VmBody;
    return { ...commonFromRow(row), lastPoll: b.lastPoll, state: b.state, lcmState: b.lcmState, resched: b.resched,
      stime: b.stime, etime: b.etime, deployId: b.deployId, schedActions: b.schedActions, template: templateFromJson(b.template),
      userTemplate: templateFromJson(b.userTemplate), history: b.history, backups: b.backups };
  },
  (vm) => ({ state: vm.state, lcm_state: vm.lcmState }),
);

/** PENDING VMs in id order: what placement looks at each tick. */
export async function pendingVmIds(q: Queryable): Promise<number[]> {
  const { rows } = await q.query<{ oid: number }>(`SELECT oid FROM vm_pool WHERE state = 1 ORDER BY oid`, []);
  return rows.map((r) => r.oid);
}
