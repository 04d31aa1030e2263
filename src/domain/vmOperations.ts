import type { Template } from './template.js';

/** The user and group template attributes oned.conf ships as restricted (USER_RESTRICTED_ATTR, GROUP_RESTRICTED_ATTR). */
export const VM_OPERATION_ATTRIBUTES = ['VM_USE_OPERATIONS', 'VM_MANAGE_OPERATIONS', 'VM_ADMIN_OPERATIONS'];

// The action names VMActions::action_from_str accepts.
const VM_ACTIONS = new Set([
  'alias-attach', 'alias-detach', 'backup', 'backup-cancel', 'chmod', 'chown', 'delete', 'delete-recreate', 'deploy',
  'disk-attach', 'disk-detach', 'disk-resize', 'disk-saveas', 'disk-snapshot-create', 'disk-snapshot-rename',
  'disk-snapshot-revert', 'disk-snapshot-snap-delete', 'exec', 'exec-cancel', 'exec-retry', 'hold', 'live-migrate',
  'migrate', 'monitor', 'nic-attach', 'nic-detach', 'nic-update', 'pci-attach', 'pci-detach', 'poweroff',
  'poweroff-hard', 'poweroff-hard-migrate', 'poweroff-migrate', 'reboot', 'reboot-hard', 'recover', 'release',
  'rename', 'resched', 'resize', 'restore', 'resume', 'retry', 'sched-add', 'sched-delete', 'sched-update',
  'sg-attach', 'sg-detach', 'snapshot-create', 'snapshot-delete', 'snapshot-revert', 'stop', 'suspend', 'terminate',
  'terminate-hard', 'undeploy', 'undeploy-hard', 'unresched', 'update', 'updateconf', 'vmgroup-add',
]);
/** VM_*_OPERATIONS hold comma lists of VM actions (User.cc, Group.cc): the reason a list is refused, or null. */
export function validateVmOperations(t: Template): string | null {
  for (const key of VM_OPERATION_ATTRIBUTES) {
    const value = t.get(key);
    if (value === undefined) continue;
    for (const op of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      if (!VM_ACTIONS.has(op)) return `Unknown vm operation: ${op}`;
    }
  }
  return null;
}

