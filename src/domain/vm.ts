import type { PoolObject } from './poolObject.js';
import type { Template } from './template.js';

/** One HISTORY record (History.cc): where and when a VM ran. */
export interface HistoryRecord {
  seq: number; hostname: string; hid: number; cid: number; stime: number; etime: number; vmMad: string; tmMad: string;
  dsId: number; planId: number; actionId: number; pstime: number; petime: number; rstime: number; retime: number;
  estime: number; eetime: number; action: number; uid: number; gid: number; requestId: number;
}

/** BACKUPS: BACKUP_CONFIG (string values, as oned keeps them) and the ids of its backup images. */
export interface VmBackups { config: Record<string, string>; ids: number[] }

/** A virtual machine (VirtualMachine.h) with what the emulator needs of it. */
export interface Vm extends PoolObject {
  lastPoll: number;
  state: number;
  lcmState: number;
  resched: number;
  stime: number;
  etime: number;
  deployId: string;
  schedActions: number[];
  template: Template;
  userTemplate: Template;
  history: HistoryRecord[];
  backups: VmBackups;
}

export const currentHistory = (vm: Vm): HistoryRecord | undefined => vm.history[vm.history.length - 1];

/** CPU (as in the template, e.g. 0.1; hostCpuUsage converts it) and memory (KB) a VM takes on its host. */
export function vmCapacity(vm: Vm): { cpu: number; memoryKb: number } {
  return { cpu: Number(vm.template.get('CPU') ?? 0), memoryKb: Number(vm.template.get('MEMORY') ?? 0) * 1024 };
}
