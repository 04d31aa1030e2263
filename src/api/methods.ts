import { MethodRegistry } from '../rpc/registry.js';
import type { ApiMethod } from './app.js';
import { groupMethods } from './group.js';
import { systemMethods } from './system.js';
import { userMethods } from './user.js';
import { backupJobMethods } from './backupjob.js';

/** Every XML-RPC method the server answers. */
export function buildRegistry(): MethodRegistry<ApiMethod> {
  return new MethodRegistry<ApiMethod>().add(...systemMethods, ...userMethods, ...groupMethods, ...backupJobMethods);
}
