import { MethodRegistry } from '../rpc/registry.js';
import type { ApiMethod } from './app.js';
import { backupJobMethods } from './backupjob.js';
import { clusterMethods } from './cluster.js';
import { datastoreMethods } from './datastore.js';
import { emuMethods } from './emu.js';
import { groupMethods } from './group.js';
import { hostMethods } from './host.js';
import { imageMethods } from './image.js';
import { systemMethods } from './system.js';
import { templateMethods } from './template.js';
import { userMethods } from './user.js';
import { vmMethods } from './vm.js';
import { vmBackupMethods } from './vmBackup.js';
import { deploy } from './vmDeploy.js';
import { restoreMethods } from './restore.js';
import { instantiate } from './vmInstantiate.js';

/** Every XML-RPC method the server answers. */
export function buildRegistry(): MethodRegistry<ApiMethod> {
  return new MethodRegistry<ApiMethod>().add(...systemMethods, ...userMethods, ...groupMethods, ...backupJobMethods,
    ...vmMethods, deploy, ...vmBackupMethods, ...emuMethods, ...hostMethods, ...datastoreMethods, ...clusterMethods,
    ...imageMethods, ...templateMethods, ...restoreMethods, instantiate);
}
