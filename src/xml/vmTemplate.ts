import type { VmTemplate } from '../domain/vmTemplate.js';
import type { Template } from '../domain/template.js';
import { renderLock, renderOwnership, renderPermissions } from './poolObject.js';
import { el } from './text.js';

/**
 * VMTemplate::to_xml. `shown` replaces the stored template in the document: one.template.info(extended) renders
 * a copy whose DISKs carry their image data.
 */
export function renderVmTemplate(t: VmTemplate, shown: Template = t.template): string {
  return `<VMTEMPLATE>${renderOwnership(t)}${renderLock(t.lock)}${renderPermissions(t.permissions)}`
    + `${el('REGTIME', t.regtime)}${shown.toXml('TEMPLATE')}</VMTEMPLATE>`;
}

export const renderVmTemplatePool = (templates: readonly VmTemplate[]) =>
  `<VMTEMPLATE_POOL>${templates.map((t) => renderVmTemplate(t)).join('')}</VMTEMPLATE_POOL>`;
