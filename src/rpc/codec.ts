/**
 * XML-RPC encoding and decoding, built on the `xmlrpc` package's Deserializer and serializer.
 *
 * Decoding drives the Deserializer's handlers from a *strict* sax parser (the package's own stream parser is the
 * lenient HTML-ish mode) and layers on what oned's xmlrpc-c checks and the package does not: the document grammar,
 * value types (ints stay 32-bit numbers, <i8> becomes RpcI8, <double> RpcDouble), structs as Maps, the nesting
 * limit, UTF-8 validity, no DOCTYPE/entities. Fault texts follow xmlrpc-c's (src/xmlrpc_parse.c, parse_value.c).
 *
 * Encoding converts RpcValues into the serializer's input, with CustomType elements for <i4>, <i8>, <double> and
 * escaped <string>s (the stock serializer writes <int> and wraps markup in CDATA).
 */
import { createRequire } from 'node:module';
import { isUtf8 } from 'node:buffer';
import { FAULT, RpcFault } from './faults.js';
import { INT32_MAX, INT32_MIN, RpcDateTime, RpcDouble, RpcEscapedString, RpcI8, isInt32, type RpcValue } from './values.js';

export interface DecodedCall { method: string; params: RpcValue[] }

export interface DecodeOptions {
  /** Deepest allowed <value> nesting, counting a parameter's own <value> as 1 (xmlrpc-c's default is 64). */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;

// ---------------------------------------------------------------------------------------------------------------
// The xmlrpc package (CommonJS, untyped internals)

interface SaxTag { name: string }
interface SaxParser {
  line: number;
  column: number;
  ENTITIES: Record<string, string>;
  onopentag: (tag: SaxTag) => void;
  onclosetag: (name: string) => void;
  ontext: (text: string) => void;
  oncdata: (text: string) => void;
  ondoctype: (doctype: string) => void;
  onsgmldeclaration: (decl: string) => void;
  onerror: (err: Error) => void;
  write(chunk: string): SaxParser;
  close(): SaxParser;
}
interface SaxModule {
  parser(strict: boolean, opts: { strictEntities?: boolean; position?: boolean }): SaxParser;
  XML_ENTITIES: Record<string, string>;
}

/** The Deserializer's state and handlers that this module drives (xmlrpc/lib/deserializer.js). */
interface Deserializer {
  type: string | null;
  responseType: string | null;
  stack: unknown[];
  marks: number[];
  data: string[];
  methodname: string | null;
  value: boolean;
  callback: unknown;
  error: unknown;
  onOpentag(node: { name: string }): void;
  onClosetag(name: string): void;
  onText(text: string): void;
  onCDATA(text: string): void;
  onError(err: unknown): void;
  push(value: unknown): void;
  endInt(data: string): void;
  endI8(data: string): void;
  endDouble(data: string): void;
  endBoolean(data: string): void;
  endBase64(data: string): void;
  endDateTime(data: string): void;
  endStruct(data: string): void;
}

interface CustomTypeInstance { raw: string; tagName: string }
type CustomTypeClass = new (raw: string) => CustomTypeInstance;

interface Serializer {
  serializeMethodCall(method: string, params: unknown[], encoding?: string): string;
  serializeMethodResponse(value: unknown): string;
  serializeFault(fault: unknown): string;
}

const requireHere = createRequire(import.meta.url);
const deserializerPath = requireHere.resolve('xmlrpc/lib/deserializer.js');
const DeserializerClass = requireHere(deserializerPath) as { prototype: Deserializer };
const serializer = requireHere('xmlrpc/lib/serializer.js') as Serializer;
const CustomType = requireHere('xmlrpc/lib/customtype.js') as CustomTypeClass;
// sax is the xmlrpc package's dependency, so resolve it from there rather than from our own package.json.
const sax = createRequire(deserializerPath)('sax') as SaxModule;

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const parseFault = (message: string) => new RpcFault(FAULT.PARSE, message);

/** Characters XML 1.0 forbids even as character references; `u` makes the surrogate range match lone halves only. */
const XML_ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;
const XML_ILLEGAL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu;

const INTEGER_TEXT = /^[+-]?[0-9]+$/;
/** XML-RPC's decimal form, plus the exponent xmlrpc-c's strtod fallback also takes. */
const DOUBLE_TEXT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const BASE64_TEXT = /^[A-Za-z0-9+/=\s]*$/;
const DATETIME_TEXT = /^[0-9]{4}-?[0-9]{2}-?[0-9]{2}T[0-9]{2}:?[0-9]{2}:?[0-9]{2}(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseInt32(text: string): number {
  if (text === '') throw parseFault('<int> XML element content is empty');
  if (/^\s/.test(text)) throw parseFault(`<int> content '${text}' starts with white space`);
  if (!INTEGER_TEXT.test(text)) throw parseFault(`<int> value '${text}' contains non-numerical junk`);
  const n = Number(text);
  if (n < INT32_MIN || n > INT32_MAX) {
    throw parseFault(`<int> XML element value '${text}' represents a number beyond the range that XML-RPC allows `
      + `(${INT32_MIN} - ${INT32_MAX})`);
  }
  return n === 0 ? 0 : n; // no -0
}

function parseInt64(text: string): RpcI8 {
  if (text === '') throw parseFault('<i8> XML element content is empty');
  if (/^\s/.test(text)) throw parseFault(`<i8> content '${text}' starts with white space`);
  if (!INTEGER_TEXT.test(text)) throw parseFault(`<i8> value '${text}' contains non-numerical junk`);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) {
    throw parseFault(`<i8> XML element value '${text}' represents a number beyond the range that XML-RPC allows `
      + `(${INT64_MIN} - ${INT64_MAX})`);
  }
  return new RpcI8(n);
}

function parseDouble(text: string): RpcDouble {
  const n = Number(text);
  if (!DOUBLE_TEXT.test(text) || !Number.isFinite(n)) {
    throw parseFault(`<double> element value '${text}' is not a valid floating point number.`);
  }
  return new RpcDouble(n === 0 ? 0 : n);
}

function parseBoolean(text: string): boolean {
  if (text === '1') return true;
  if (text === '0') return false;
  throw parseFault(`<boolean> XML element content must be either '0' or '1' according to XML-RPC.  `
    + `This one has '${text}'`);
}

function parseBase64(text: string): Buffer {
  if (!BASE64_TEXT.test(text)) throw parseFault('<base64> element contains characters that are not base64');
  return Buffer.from(text, 'base64');
}

function parseDateTime(text: string): RpcDateTime {
  if (!DATETIME_TEXT.test(text)) {
    throw parseFault(`<dateTime.iso8601> value '${text}' is not in the form YYYYMMDDTHH:MM:SS`);
  }
  return new RpcDateTime(text);
}

/**
 * The Deserializer with the handlers that lose type information replaced. Instances are made with Object.create
 * and the constructor's fields set by hand: the constructor also builds a lenient sax stream we never use, which
 * would cost as much as decoding a typical call.
 */
const typedDeserializer: Deserializer = Object.create(DeserializerClass.prototype);
Object.assign(typedDeserializer, {
  endInt(this: Deserializer, data: string) { this.push(parseInt32(data)); this.value = false; },
  endI8(this: Deserializer, data: string) { this.push(parseInt64(data)); this.value = false; },
  endDouble(this: Deserializer, data: string) { this.push(parseDouble(data)); this.value = false; },
  endBoolean(this: Deserializer, data: string) { this.push(parseBoolean(data)); this.value = false; },
  endBase64(this: Deserializer, data: string) { this.push(parseBase64(data)); this.value = false; },
  endDateTime(this: Deserializer, data: string) { this.push(parseDateTime(data)); this.value = false; },
  // A Map, because members land in a plain object in the stock version, where "__proto__" reaches the prototype.
  endStruct(this: Deserializer) {
    const members = this.stack.splice(this.marks.pop() as number);
    const struct = new Map<string, RpcValue>();
    for (let i = 0; i < members.length; i += 2) struct.set(members[i] as string, members[i + 1] as RpcValue);
    this.push(struct);
    this.value = false;
  },
  // The stock handler reports through a callback; here every problem ends the parse at once.
  onError(err: unknown) {
    if (err instanceof RpcFault) throw err;
    throw parseFault(`Invalid XML-RPC value.  ${err instanceof Error ? err.message : String(err)}`);
  },
});

function newDeserializer(): Deserializer {
  const d: Deserializer = Object.create(typedDeserializer);
  d.type = null;
  d.responseType = null;
  d.stack = [];
  d.marks = [];
  d.data = [];
  d.methodname = null;
  d.value = false;
  d.callback = null;
  d.error = null;
  return d;
}

/** Element names as the Deserializer's switch spells them; a null prototype so "constructor" is not an element. */
const DESERIALIZER_NAME: Record<string, string> = Object.assign(Object.create(null), {
  methodCall: 'METHODCALL', methodResponse: 'METHODRESPONSE', methodName: 'METHODNAME', params: 'PARAMS',
  param: 'PARAM', fault: 'FAULT', value: 'VALUE', array: 'ARRAY', data: 'DATA', struct: 'STRUCT', member: 'MEMBER',
  name: 'NAME', string: 'STRING', boolean: 'BOOLEAN', double: 'DOUBLE', base64: 'BASE64',
  'dateTime.iso8601': 'DATETIME.ISO8601', i4: 'I4', int: 'INT', i8: 'I8', nil: 'NIL',
  // Other spellings xmlrpc-c accepts (Apache's "ex:" extensions and its own i1/i2).
  i1: 'INT', i2: 'INT', 'ex:i1': 'INT', 'ex:i2': 'INT', 'ex:i8': 'I8', 'ex:nil': 'NIL',
});

const VALUE_TYPES = new Set([
  'string', 'boolean', 'double', 'base64', 'dateTime.iso8601', 'i4', 'int', 'i8', 'nil', 'array', 'struct',
  'i1', 'i2', 'ex:i1', 'ex:i2', 'ex:i8', 'ex:nil',
]);

interface Frame { name: string; children: number; seen: string[] }

/**
 * Checks the element structure as xmlrpc-c does (which children each element may have, and how many), so the
 * Deserializer's flat value stack can be trusted, and counts <value> nesting.
 */
class GrammarChecker {
  private readonly frames: Frame[] = [];
  private valueDepth = 0;
  rootClosed = false;

  constructor(private readonly root: 'methodCall' | 'methodResponse', private readonly maxDepth: number,
    private readonly what: 'call' | 'response') {}

  open(child: string): void {
    const parent = this.frames[this.frames.length - 1];
    if (parent === undefined) this.checkRoot(child);
    else this.checkChild(parent, child);
    if (parent !== undefined) {
      parent.children++;
      if (parent.name === 'methodCall' || parent.name === 'member') parent.seen.push(child);
    }
    if (child === 'value' && ++this.valueDepth > this.maxDepth) throw parseFault('Nested data structure too deep.');
    this.frames.push({ name: child, children: 0, seen: [] });
  }

  close(): void {
    const frame = this.frames.pop() as Frame;
    const count = (n: number) => {
      if (frame.children !== n) {
        throw parseFault(`Expected <${frame.name}> to have ${n} children, found ${frame.children}`);
      }
    };
    switch (frame.name) {
      case 'methodCall':
        if (!frame.seen.includes('methodName')) throw parseFault('Expected <methodCall> to have child <methodName>');
        break;
      case 'methodResponse': case 'param': case 'fault': case 'array':
        count(1);
        break;
      case 'member':
        if (frame.children !== 2) {
          throw parseFault(`<member> element has ${frame.children} children.  Only one <name> and one <value> make sense.`);
        }
        break;
      case 'value':
        this.valueDepth--;
        break;
    }
    if (this.frames.length === 0) this.rootClosed = true;
  }

  private checkRoot(child: string): void {
    if (this.rootClosed) throw parseFault(`${this.notXml()}  Junk after document element: <${child}>`);
    if (child !== this.root) {
      throw parseFault(this.what === 'call'
        ? `XML-RPC call should be a <methodCall> element.  Instead, we have a <${child}> element.`
        : `XML-RPC response should be a <methodResponse> element.  Instead, we have a <${child}> element.`);
    }
  }

  private checkChild(parent: Frame, child: string): void {
    const p = parent.name;
    switch (p) {
      case 'methodCall':
        if ((child !== 'methodName' && child !== 'params') || parent.seen.includes(child)) {
          throw parseFault('<methodCall> has extraneous children, other than <methodName> and <params>.');
        }
        return;
      case 'methodResponse':
        if ((child !== 'params' && child !== 'fault') || parent.children > 0) {
          throw parseFault('<methodResponse> should contain exactly one <params> or <fault> element.');
        }
        return;
      case 'params':
        if (child !== 'param') throw parseFault(`Expected element of type <param>, found <${child}>`);
        return;
      case 'param':
      case 'fault':
        if (child !== 'value') throw parseFault(`<${p}> contains a <${child}> element.  Only <value> makes sense.`);
        return;
      case 'value':
        if (!VALUE_TYPES.has(child)) throw parseFault(`Unknown value type -- XML element is named <${child}>`);
        if (parent.children > 0) throw parseFault('<value> has 2 child elements.  Only zero or one make sense.');
        return;
      case 'array':
        if (child !== 'data') throw parseFault(`<array> element has <${child}> child.  Only <data> makes sense.`);
        return;
      case 'data':
        if (child !== 'value') throw parseFault(`<data> element has <${child}> child.  Only <value> makes sense.`);
        return;
      case 'struct':
        if (child !== 'member') throw parseFault(`<${child}> element found where only <member> makes sense`);
        return;
      case 'member':
        // The Deserializer pairs names and values by position, so the name has to come first.
        if (child !== (parent.children === 0 ? 'name' : 'value') || parent.children > 1) {
          throw parseFault(`<member> element has a <${child}> child where <${parent.children === 0 ? 'name' : 'value'}> `
            + 'was expected.  Only one <name> followed by one <value> make sense.');
        }
        return;
      default:
        // every element that may contain others is handled above; the rest hold text only
        throw parseFault(`<${p}> element should not have children, but has a <${child}>.`);
    }
  }

  notXml(): string {
    return this.what === 'call' ? 'Call is not valid XML.' : 'Response is not valid XML.';
  }
}

/** Byte offset of the first byte that does not begin a well-formed UTF-8 sequence (error path only). */
function invalidUtf8Offset(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) { i++; continue; }
    let trailing: number;
    let smallest: number;
    if (lead >= 0xc2 && lead <= 0xdf) { trailing = 1; smallest = 0x80; }
    else if (lead >= 0xe0 && lead <= 0xef) { trailing = 2; smallest = 0x800; }
    else if (lead >= 0xf0 && lead <= 0xf4) { trailing = 3; smallest = 0x10000; }
    else return i;
    if (i + trailing >= bytes.length) return i;
    let codePoint = lead & (0x3f >> trailing);
    for (let k = 1; k <= trailing; k++) {
      const next = bytes[i + k];
      if ((next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < smallest || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += trailing + 1;
  }
  return -1;
}

function decodeText(body: Buffer, what: 'call' | 'response'): string {
  if (!isUtf8(body)) {
    throw new RpcFault(FAULT.ENCODING,
      `XML-RPC ${what} is not valid UTF-8: invalid byte sequence at offset ${invalidUtf8Offset(body)}`);
  }
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Runs the strict sax parser over the document, feeding the typed Deserializer; throws RpcFault. */
function parseDocument(text: string, root: 'methodCall' | 'methodResponse', maxDepth: number): Deserializer {
  const what = root === 'methodCall' ? 'call' : 'response';
  const grammar = new GrammarChecker(root, maxDepth, what);
  const d = newDeserializer();
  const parser = sax.parser(true, { strictEntities: true, position: true });
  // sax looks entities up with a plain `in` on an object inheriting from Object.prototype, so "&constructor;"
  // would expand to a function; only the five XML entities exist here.
  parser.ENTITIES = Object.assign(Object.create(null), sax.XML_ENTITIES);
  const where = () => `(line ${parser.line + 1}, column ${parser.column})`;
  const checkChars = (t: string) => {
    const bad = XML_ILLEGAL_CHAR.exec(t);
    if (bad !== null) {
      const code = bad[0].codePointAt(0) as number;
      throw parseFault(`${grammar.notXml()}  Character U+${code.toString(16).toUpperCase().padStart(4, '0')} `
        + `is not allowed in XML 1.0 ${where()}`);
    }
  };

  parser.onopentag = (tag) => {
    grammar.open(tag.name);
    d.onOpentag({ name: DESERIALIZER_NAME[tag.name] });
  };
  parser.onclosetag = (name) => {
    grammar.close();
    d.onClosetag(DESERIALIZER_NAME[name]);
  };
  parser.ontext = (t) => { checkChars(t); d.onText(t); };
  parser.oncdata = (t) => { checkChars(t); d.onCDATA(t); };
  // Entities are never expanded; refusing the declarations outright also rules out entity-expansion bombs.
  parser.ondoctype = () => {
    throw parseFault(`${grammar.notXml()}  DOCTYPE declarations are not allowed ${where()}`);
  };
  parser.onsgmldeclaration = () => {
    throw parseFault(`${grammar.notXml()}  Markup declarations are not allowed ${where()}`);
  };
  parser.onerror = (err) => {
    throw parseFault(`${grammar.notXml()}  ${err.message.split('\n')[0]} ${where()}`);
  };

  try {
    parser.write(text).close();
  } catch (err) {
    if (err instanceof RpcFault) throw err;
    // e.g. RangeError from a character reference beyond U+10FFFF
    throw parseFault(`${grammar.notXml()}  ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!grammar.rootClosed) throw parseFault(`${grammar.notXml()}  no element found`);
  return d;
}

/**
 * Decodes an XML-RPC call. Synchronous: the whole body is already in memory and sax parses in one pass.
 * Throws RpcFault: -510 invalid UTF-8, -503 anything that is not a well-formed call (including nesting deeper
 * than `maxDepth`, as xmlrpc-c does).
 */
export function decodeCall(body: Buffer, opts: DecodeOptions = {}): DecodedCall {
  const d = parseDocument(decodeText(body, 'call'), 'methodCall', opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  return { method: d.methodname ?? '', params: d.stack as RpcValue[] };
}

/** Decodes a methodResponse (tests and the bench client). Throws RpcFault -503/-510 on a malformed document. */
export function decodeResponse(body: string | Buffer): { fault?: { code: number; message: string }; value?: RpcValue } {
  const text = typeof body === 'string' ? body : decodeText(body, 'response');
  const d = parseDocument(text, 'methodResponse', DEFAULT_MAX_DEPTH);
  if (d.responseType === 'fault') {
    const fault = d.stack[0];
    const code = fault instanceof Map ? fault.get('faultCode') : undefined;
    const message = fault instanceof Map ? fault.get('faultString') : undefined;
    if (typeof code !== 'number' || typeof message !== 'string') {
      throw parseFault('Invalid struct for <fault> value: it needs an int faultCode and a string faultString');
    }
    return { fault: { code, message } };
  }
  if (d.stack.length !== 1) throw parseFault(`Invalid <params> element.  Contains ${d.stack.length} items.  It should have 1.`);
  return { value: d.stack[0] as RpcValue };
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/** An element with fixed text; the serializer writes it as `<tagName>escaped raw</tagName>`. */
class TextElement extends CustomType {
  constructor(tagName: string, raw: string) {
    super(raw);
    this.tagName = tagName;
  }
}

/** An element whose text is already escaped. */
class RawElement extends CustomType {
  constructor(tagName: string, raw: string) {
    super(raw);
    this.tagName = tagName;
  }

  serialize(xml: { ele(name: string): { raw(text: string): unknown } }): unknown {
    return xml.ele(this.tagName).raw(this.raw);
  }
}

/**
 * Makes text storable in XML 1.0: characters it cannot carry at all (C0 controls other than tab/LF/CR, lone
 * surrogates, U+FFFE/U+FFFF) become U+FFFD. Escaping them as &#N; would not help, XML forbids those references too.
 */
export function xmlSafeText(text: string): string {
  return XML_ILLEGAL_CHAR.test(text) ? text.replace(XML_ILLEGAL_CHARS, '\uFFFD') : text;
}

/** Positional notation, as XML-RPC's <double> has no exponent. */
function formatDouble(x: number): string {
  const s = String(x);
  if (!s.includes('e')) return s;
  if (Math.abs(x) >= 1) return BigInt(x).toString(); // doubles this large are integers
  const [mantissa, exponent] = s.split('e');
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  return `${negative ? '-' : ''}0.${'0'.repeat(-Number(exponent) - 1)}${digits}`;
}

function toSerializerInput(v: RpcValue): unknown {
  switch (typeof v) {
    case 'string': return new TextElement('string', xmlSafeText(v));
    case 'boolean': return v;
    case 'number':
      if (!isInt32(v)) throw new TypeError(`${v} is not a 32-bit integer; use RpcI8 or RpcDouble`);
      return new TextElement('i4', String(v));
  }
  if (v === null || Buffer.isBuffer(v)) return v;
  if (v instanceof RpcI8) return new TextElement('i8', v.value.toString());
  if (v instanceof RpcDouble) return new TextElement('double', formatDouble(v.value));
  if (v instanceof RpcDateTime) return new TextElement('dateTime.iso8601', xmlSafeText(v.raw));
  if (v instanceof RpcEscapedString) return new RawElement('string', v.escaped);
  if (Array.isArray(v)) return v.map(toSerializerInput);
  if (v instanceof Map) {
    // null prototype: a member named "__proto__" stays an ordinary key
    const struct: Record<string, unknown> = Object.create(null);
    for (const [name, member] of v) struct[xmlSafeText(name)] = toSerializerInput(member);
    return struct;
  }
  throw new TypeError(`not an XML-RPC value: ${Object.prototype.toString.call(v)}`);
}

const BARE_DECLARATION = '<?xml version="1.0"?>';
const UTF8_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** The serializer's response declaration names no encoding; xmlrpc-c's does. */
function withEncodingDeclaration(xml: string): string {
  return xml.startsWith(BARE_DECLARATION) ? UTF8_DECLARATION + xml.slice(BARE_DECLARATION.length) : xml;
}

/** Text content as the package's serializer (and xmlrpc-c) escape it: &, <, > and CR. */
export function escapeText(text: string): string {
  // One pass: a pool document is megabytes, and a pass per character made new copies of all of it four times.
  return xmlSafeText(text).replace(WIRE_ESCAPED, (c) => WIRE_ESCAPES[c]);
}

const WIRE_ESCAPED = /[&<>\r]/g;
const WIRE_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };

/** One scalar of an oned reply array written directly, or undefined for anything else. */
function flatScalar(v: RpcValue): string | undefined {
  switch (typeof v) {
    case 'string': return `<value><string>${escapeText(v)}</string></value>`;
    case 'boolean': return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    case 'number': return isInt32(v) ? `<value><i4>${v}</i4></value>` : undefined;
  }
  if (v instanceof RpcEscapedString) return `<value><string>${v.escaped}</string></value>`;
  return v instanceof RpcI8 ? `<value><i8>${v.value}</i8></value>` : undefined;
}

/**
 * `<methodResponse><params><param><value>…`. Throws TypeError for a number that is not a 32-bit integer.
 * oned's replies are flat arrays of scalars; those are written directly, byte-identical to the package's output:
 * its serializer builds a DOM and escapes character by character, which took about a second for a 10 000-job
 * pool (bench/RESULTS.md). Other values still go through the package.
 */
export function encodeResponse(value: RpcValue): string {
  if (Array.isArray(value)) {
    const parts = value.map(flatScalar);
    if (parts.every((p) => p !== undefined)) {
      return `${UTF8_DECLARATION}<methodResponse><params><param><value><array><data>${parts.join('')}`
        + '</data></array></value></param></params></methodResponse>';
    }
  }
  return withEncodingDeclaration(serializer.serializeMethodResponse(toSerializerInput(value)));
}

/** `<methodResponse><fault>` with an <i4> faultCode and a string faultString. */
export function encodeFault(code: number, message: string): string {
  const fault = { faultCode: new TextElement('i4', String(code | 0)), faultString: new TextElement('string', xmlSafeText(message)) };
  return withEncodingDeclaration(serializer.serializeFault(fault));
}

/** `<methodCall>`, for tests and the load generator (which need <i8>, so cannot use the package's client). */
export function encodeCall(method: string, params: RpcValue[]): string {
  return serializer.serializeMethodCall(xmlSafeText(method), params.map(toSerializerInput), 'UTF-8');
}
