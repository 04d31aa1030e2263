import { Op, type AuthItem } from '../domain/authorization.js';
import { ErrorCode, noExists, OneError } from '../domain/errors.js';
import { objectAuth } from '../domain/poolObject.js';
import { parseTemplateOr } from './parseTemplate.js';
import type { RpcValue } from '../rpc/values.js';
import { vmTemplateTable } from '../store/vmTemplates.js';
import type { ApiMethod } from './app.js';
import { requireAuthorization } from './authorize.js';
import { createVm } from './vm.js';

const int = (v: RpcValue) => v as number;

/** one.template.instantiate (TemplateAPI::instantiate): a VM from a template, with an optional extra template merged in. */
export const instantiate: ApiMethod = {
  name: 'one.template.instantiate', signature: 'A:sisbsb', required: 3, object: 'TEMPLATE',
  async run(req, p) {
    const id = int(p[1]);
    const name = p[2] as string;
    const hold = p.length > 3 ? (p[3] as boolean) : false;
    const extraText = p.length > 4 ? (p[4] as string) : '';
    const tmpl = id >= 0 ? await vmTemplateTable.get(req.app.db, id) : undefined;
    if (!tmpl) throw noExists('TEMPLATE', id);
    const merged = tmpl.template.clone();
    if (extraText !== '') merged.merge(parseTemplateOr(extraText));
    if (name !== '') merged.replace('NAME', name);
    const { caller } = req;
    const items: AuthItem[] = [{ op: Op.USE, object: objectAuth('TEMPLATE', tmpl) }];
    if (extraText !== '') items.push({ op: Op.CREATE, object: { type: 'TEMPLATE', oid: -1, uid: caller.uid, gid: caller.gid } });
    items.push({ op: Op.CREATE, object: { type: 'VM', oid: -1, uid: caller.uid, gid: caller.gid } });
    await requireAuthorization(req, items);
    let created;
    try {
      created = await createVm(req, merged, hold, {
        extra: [{ kind: 'single', name: 'TEMPLATE_ID', value: String(tmpl.id) }],
        defaultName: (vmId) => `${tmpl.name}-${vmId}`,
      });
    } catch (err) {
      // VirtualMachinePool::allocate failures name the template object (cloud.md §1.4 step 8).
      if (err instanceof OneError && err.code === ErrorCode.INTERNAL) {
        throw new OneError(ErrorCode.ALLOCATE, err.detail, -1, 'TEMPLATE');
      }
      throw err;
    }
    // The VM exists by then: a bad SCHED_ACTION is a plain INTERNAL failure (TemplateAPI.cc).
    if (created.schedError) throw new OneError(ErrorCode.INTERNAL, created.schedError);
    return created.id;
  },
};
