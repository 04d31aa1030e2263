import { ErrorCode, OneError } from '../domain/errors.js';
import { Template, TemplateParseError, type ParseOptions } from '../domain/template.js';

/**
 * Template::parse_str_or_xml as a request step: a parse error becomes oned's failure reply (INTERNAL for most
 * methods, ACTION for one.vm.update), with the method's prefix where it adds one.
 */
export function parseTemplateOr(text: string, code: 'INTERNAL' | 'ACTION' = 'INTERNAL', prefix = '', options?: ParseOptions): Template {
  try {
    return Template.parse(text, options);
  } catch (err) {
    if (err instanceof TemplateParseError) throw new OneError(ErrorCode[code], prefix + err.message);
    throw err;
  }
}
