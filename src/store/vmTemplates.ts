import type { VmTemplate } from '../domain/vmTemplate.js';
import { commonBody, commonFromRow, PoolTable } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface VmTemplateBody { regtime: number; template: TemplateJson }

/** template_pool: VM templates; names are unique per owner (index template_pool_name_owner). */
export const vmTemplateTable = new PoolTable<VmTemplate>(
  'template_pool',
  (t) => ({ ...commonBody(t), regtime: t.regtime, template: templateToJson(t.template) } satisfies Record<string, unknown> & VmTemplateBody),
  (row) => {
    const b = row.body as unknown as VmTemplateBody;
    return { ...commonFromRow(row), regtime: b.regtime, template: templateFromJson(b.template) };
  },
);
