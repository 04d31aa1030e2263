import { currentHistory, type HistoryRecord, type Vm } from './vm.js';
import { Lcm, stateName, VmAction, VmState } from './vmState.js';

/** What an action did to a VM beyond its fields: whether its host capacity must be given back. */
export interface ActionOutcome { releasesHost: boolean; becamePending: boolean }

export interface Actor { uid: number; gid: number; reqId: number }

/** oned's own actions (scheduled actions, backup jobs) run as oneadmin outside any request. */
export const SCHEDULER_ACTOR: Actor = { uid: 0, gid: 0, reqId: -1 };

const FAILURE_LCM = new Set([36, 37, 38, 39, 40, 41, 42, 44, 46, 47, 48, 49, 50, 61]);

/** History::set_action: the current record remembers who asked for what. */
function markAction(vm: Vm, action: number, actor: Actor): void {
  const h = currentHistory(vm);
  if (!h) return;
  h.action = action;
  h.uid = actor.uid;
  h.gid = actor.gid;
  h.requestId = actor.reqId;
}

/** Closes the current record: the VM stopped running there. */
function closeHistory(vm: Vm, now: number, epilog: boolean): void {
  const h = currentHistory(vm);
  if (!h) return;
  if (h.retime === 0) h.retime = now;
  if (epilog) { h.estime = now; h.eetime = now; }
  h.etime = now;
}

/** LCM cp_history: the current record ends and a copy starts now (resume from POWEROFF/SUSPENDED). */
export function copyHistory(vm: Vm, now: number, internalAction = 0): HistoryRecord | undefined {
  const h = currentHistory(vm);
  if (!h) return undefined;
  h.etime = now;
  if (h.retime === 0) h.retime = now;
  const copy: HistoryRecord = { ...h, seq: h.seq + 1, stime: now, etime: 0, pstime: 0, petime: 0, rstime: now, retime: 0,
    estime: 0, eetime: 0, action: internalAction, uid: -1, gid: -1, requestId: -1 };
  vm.history.push(copy);
  return copy;
}

/**
 * DispatchManager::close_cp_history: a VM operation (backup, restore, …) closes the current record with its action
 * and caller; the copy that starts keeps the previous action as an internal one.
 */
export function closeCopyHistory(vm: Vm, action: number, actor: Actor, now: number): void {
  const h = currentHistory(vm);
  if (!h) return;
  const previous = h.action;
  const notRunning = h.retime !== 0;
  markAction(vm, action, actor);
  const copy = copyHistory(vm, now, previous);
  // A VM that was not running (e.g. POWEROFF) keeps its RETIME and the copy starts "not running" too.
  if (copy && notRunning) copy.retime = now;
}

const notAvailable = (vm: Vm) => `This action is not available for state ${stateName(vm.state, vm.lcmState)}`;
const isRunningLike = (vm: Vm) => vm.state === VmState.ACTIVE && (vm.lcmState === Lcm.RUNNING || vm.lcmState === Lcm.UNKNOWN);

function toState(vm: Vm, state: number, lcm = 0): void {
  vm.state = state;
  vm.lcmState = lcm;
}

/**
 * The emulated drivers finish at once: an action moves the VM straight to the state oned reaches when its
 * dummy drivers answer (cloud.md §2.2). Returns the refusal text (without the `Error performing action` prefix)
 * or the outcome.
 */
export function performVmAction(vm: Vm, action: string, now: number, actor: Actor): ActionOutcome | string {
  const done: ActionOutcome = { releasesHost: false, becamePending: false };
  switch (action) {
    case 'terminate':
    case 'terminate-hard': {
      const hard = action === 'terminate-hard';
      if (vm.state === VmState.DONE) return done;
      const active = vm.state === VmState.ACTIVE;
      const allowed = [VmState.SUSPENDED, VmState.POWEROFF, VmState.STOPPED, VmState.UNDEPLOYED, VmState.INIT, VmState.PENDING,
        VmState.HOLD, VmState.CLONING, VmState.CLONING_FAILURE].includes(vm.state as never)
        || (active && (isRunningLike(vm) || FAILURE_LCM.has(vm.lcmState) || (hard && vm.lcmState === Lcm.SHUTDOWN)));
      if (!allowed) return `Could not terminate VM ${vm.id}, wrong state ${stateName(vm.state, vm.lcmState)}.`;
      const held = active || vm.state === VmState.SUSPENDED || vm.state === VmState.POWEROFF;
      if (held || vm.state === VmState.STOPPED || vm.state === VmState.UNDEPLOYED) {
        // LifeCycleManager::trigger_shutdown records the VM's owner rather than the caller, and "hard" only counts
        // for a RUNNING/UNKNOWN VM; PENDING/HOLD VMs end without touching their history.
        markAction(vm, hard && active ? VmAction.TERMINATE_HARD : VmAction.TERMINATE, { uid: vm.uid, gid: vm.gid, reqId: actor.reqId });
        if (active) vm.resched = 0;
        closeHistory(vm, now, true);
      }
      toState(vm, VmState.DONE);
      vm.etime = now;
      return { releasesHost: held, becamePending: false };
    }
    case 'undeploy':
    case 'undeploy-hard':
      if (!isRunningLike(vm) && vm.state !== VmState.POWEROFF) return notAvailable(vm);
      // From POWEROFF oned records a plain undeploy whatever was asked, and keeps RESCHED.
      if (vm.state === VmState.POWEROFF) markAction(vm, VmAction.UNDEPLOY, actor);
      else { markAction(vm, action === 'undeploy' ? VmAction.UNDEPLOY : VmAction.UNDEPLOY_HARD, actor); vm.resched = 0; }
      closeHistory(vm, now, true);
      toState(vm, VmState.UNDEPLOYED);
      return { releasesHost: true, becamePending: false };
    case 'poweroff':
    case 'poweroff-hard':
      if (!isRunningLike(vm)) return notAvailable(vm);
      markAction(vm, action === 'poweroff' ? VmAction.POWEROFF : VmAction.POWEROFF_HARD, actor);
      vm.resched = 0;
      currentHistory(vm)!.retime = now;
      toState(vm, VmState.POWEROFF);
      return done;
    case 'hold':
      if (vm.state !== VmState.PENDING) return notAvailable(vm);
      toState(vm, VmState.HOLD);
      return done;
    case 'release':
      if (vm.state !== VmState.HOLD) return notAvailable(vm);
      toState(vm, VmState.PENDING);
      return { releasesHost: false, becamePending: true };
    case 'stop':
      if (!(vm.state === VmState.ACTIVE && vm.lcmState === Lcm.RUNNING) && vm.state !== VmState.SUSPENDED) return notAvailable(vm);
      markAction(vm, VmAction.STOP, actor);
      if (vm.state === VmState.ACTIVE) vm.resched = 0;
      closeHistory(vm, now, true);
      toState(vm, VmState.STOPPED);
      return { releasesHost: true, becamePending: false };
    case 'suspend':
      if (!(vm.state === VmState.ACTIVE && vm.lcmState === Lcm.RUNNING)) return notAvailable(vm);
      markAction(vm, VmAction.SUSPEND, actor);
      vm.resched = 0;
      currentHistory(vm)!.retime = now;
      toState(vm, VmState.SUSPENDED);
      return done;
    case 'resume':
      // DispatchManager::resume records no action for STOPPED/UNDEPLOYED; from SUSPENDED/POWEROFF the LCM closes
      // the record and the copy that starts carries RESUME and the caller.
      if (vm.state === VmState.STOPPED || vm.state === VmState.UNDEPLOYED) {
        toState(vm, VmState.PENDING);
        return { releasesHost: false, becamePending: true };
      }
      if (vm.state === VmState.SUSPENDED || vm.state === VmState.POWEROFF || (vm.state === VmState.ACTIVE && vm.lcmState === Lcm.UNKNOWN)) {
        copyHistory(vm, now);
        markAction(vm, VmAction.RESUME, actor);
        toState(vm, VmState.ACTIVE, Lcm.RUNNING);
        return done;
      }
      return notAvailable(vm);
    case 'reboot':
    case 'reboot-hard':
      // DispatchManager::reboot leaves the history alone; it only cancels a pending reschedule.
      if (!(vm.state === VmState.ACTIVE && vm.lcmState === Lcm.RUNNING)) return notAvailable(vm);
      vm.resched = 0;
      return done;
    case 'resched':
    case 'unresched':
      if (vm.state !== VmState.POWEROFF && !isRunningLike(vm)) return notAvailable(vm);
      vm.resched = action === 'resched' ? 1 : 0;
      return done;
    default:
      return `Action "${action}" is not supported`;
  }
}

/** Actions one.vm.action handles, and the operation each needs with oned's default VM_*_OPERATIONS. */
export const VM_ACTION_AUTH: Record<string, 'MANAGE' | 'ADMIN'> = {
  terminate: 'MANAGE', 'terminate-hard': 'MANAGE', undeploy: 'MANAGE', 'undeploy-hard': 'MANAGE', poweroff: 'MANAGE',
  'poweroff-hard': 'MANAGE', hold: 'MANAGE', release: 'MANAGE', stop: 'MANAGE', suspend: 'MANAGE', resume: 'MANAGE',
  reboot: 'MANAGE', 'reboot-hard': 'MANAGE', resched: 'ADMIN', unresched: 'ADMIN',
  migrate: 'ADMIN', 'live-migrate': 'ADMIN', delete: 'ADMIN', recover: 'ADMIN', retry: 'ADMIN', deploy: 'ADMIN', backup: 'ADMIN',
  restore: 'ADMIN',
};
