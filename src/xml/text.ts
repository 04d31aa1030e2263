import { escapeCdata } from '../domain/template.js';

/** Text content of an element, escaped for XML. */
export function esc(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** A value wrapped in CDATA as oned writes one_util::escape_xml values. */
export const cdata = (text: string) => `<![CDATA[${escapeCdata(text)}]]>`;

/** <NAME>value</NAME> with escaped text. */
export const el = (name: string, value: string | number) => `<${name}>${typeof value === 'number' ? value : esc(value)}</${name}>`;

/** An ObjectCollection: <NAME><ID>1</ID>…</NAME>, ids ascending. */
export function idList(name: string, ids: Iterable<number>): string {
  const sorted = [...ids].sort((a, b) => a - b);
  return `<${name}>${sorted.map((id) => `<ID>${id}</ID>`).join('')}</${name}>`;
}
