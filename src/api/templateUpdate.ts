import { internalError } from '../domain/errors.js';
import { Template, TemplateParseError } from '../domain/template.js';

export interface UpdateRules {
  /** Attribute names the caller may not add, change or remove (oned's *_RESTRICTED_ATTR for non-admins). */
  restricted: readonly string[];
  /** How oned names the template in the restricted-attribute message, e.g. "User Template". */
  restrictedLabel: string;
  /** A last check of the resulting template: the reason it is refused, or null. */
  validate?: (t: Template) => string | null;
  /** Adjusts the parsed new template before it is applied (backup jobs inject BACKUP_VMS_OLD). */
  prepare?: (given: Template) => void;
  /** The object's template class keeps only the last attribute of a name (Template(true): users, backup jobs). */
  replaceMode?: boolean;
}

const sameAttributes = (a: Template, b: Template, name: string) =>
  new Template(a.getAll(name)).toXml() === new Template(b.getAll(name)).toXml();

/**
 * PoolObjectSQL::replace_template / append_template: parses the new text, applies it (replace or merge) and
 * returns the new template; the old one is left untouched. Failures are INTERNAL "Cannot update template. …".
 */
export function updateTemplate(old: Template, text: string, merge: boolean, rules: UpdateRules): Template {
  let given: Template;
  try {
    given = Template.parse(text, { replaceMode: rules.replaceMode });
  } catch (err) {
    if (err instanceof TemplateParseError) throw internalError(`Cannot update template. ${err.message}`);
    throw err;
  }
  rules.prepare?.(given);
  let result: Template;
  if (merge) {
    const bad = rules.restricted.find((name) => given.has(name));
    if (bad) throw internalError(`Cannot update template. ${rules.restrictedLabel} includes a restricted attribute ${bad}`);
    result = old.clone();
    result.merge(given);
  } else {
    const changed = rules.restricted.find((name) => given.has(name) && !sameAttributes(old, given, name));
    if (changed) throw internalError(`Cannot update template. Tried to change restricted attribute: ${changed}`);
    result = given;
    // A non-admin replace keeps the restricted attributes it may not touch.
    for (const name of rules.restricted) {
      if (!given.has(name)) for (const attr of old.getAll(name)) result.add(attr);
    }
  }
  const reason = rules.validate?.(result) ?? null;
  if (reason) throw internalError(`Cannot update template. ${reason}`);
  return result;
}
