import { Template, type Attribute } from '../domain/template.js';

/** How a Template is kept inside a jsonb body: [name, value] for single attributes, [name, {sub: value}] for vectors,
 *  in the template's own order. */
export type TemplateJson = Array<[string, string | Record<string, string>]>;

export function templateToJson(t: Template): TemplateJson {
  return t.attributes.map((a) => [a.name, a.kind === 'single' ? a.value : Object.fromEntries(a.value)]);
}

export function templateFromJson(json: TemplateJson | undefined | null): Template {
  const attributes: Attribute[] = (json ?? []).map(([name, value]) =>
    typeof value === 'string'
      ? { kind: 'single', name, value }
      : { kind: 'vector', name, value: new Map(Object.entries(value)) });
  return new Template(attributes);
}
