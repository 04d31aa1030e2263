/**
 * Request bodies for fuzzing the XML-RPC endpoint. Body `index` of run `seed` depends on nothing else, so a failure
 * reported as (seed, index) is rebuilt alone with FUZZ_SEED/FUZZ_ONLY.
 *
 * The first bodies of every run are fixed hostile cases (entity bombs, deep nesting, huge strings, bad UTF-8,
 * prototype keys, out-of-range numbers…), then one well-typed call per registered method; the rest are drawn at
 * random: well-typed calls, calls with parameters dropped, added or retyped, calls with a bad session, unknown
 * methods, calls cut short or with bytes and tags mangled, and garbage.
 */
import { encodeCall, escapeText } from '../../src/rpc/codec.js';
import { FAULT } from '../../src/rpc/faults.js';
import { parameterTypes, type MethodSignature } from '../../src/rpc/registry.js';
import { INT32_MAX, INT32_MIN, RpcDateTime, RpcDouble, RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { mulberry32 } from './random.js';

export type FuzzKind =
  | 'special' | 'call' | 'mutated' | 'bad-session' | 'unknown-method' | 'truncated' | 'bytes' | 'tags' | 'garbage';

export interface FuzzBody {
  index: number;
  kind: FuzzKind;
  /** A few words on what the body is, for the report. */
  what: string;
  /** The registered method the body calls, if it calls one. */
  method?: string;
  bytes: Buffer;
  /** Sent with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
  /** May carry oneadmin's working session to a registered method, so it may succeed and write. */
  mayAuthenticate: boolean;
  /** The fault this body must get, when what it is decides that. */
  expectFault?: number;
  /** The body carries a bad session and names a registered method: oned's authentication failure must come back. */
  expectAuthFailure?: string;
}

export interface FuzzContext {
  methods: readonly MethodSignature[];
  /** The session that authenticates (oneadmin's). */
  session: string;
  /** MESSAGE_SIZE of the server: the huge bodies are sized around it. */
  messageSize: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Randomness

class Rng {
  private readonly next: () => number;

  constructor(seed: number, index: number) {
    // One independent stream per body: mix the index into the seed (murmur3's finaliser).
    let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.next = mulberry32((h ^ (h >>> 16)) >>> 0);
  }

  float(): number { return this.next(); }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(list: readonly T[]): T { return list[this.int(list.length)]; }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter values

const INTS = [-2, -1, 0, 1, 2, 3, 4, 5, 10, 100, 65535, INT32_MAX, INT32_MIN, INT32_MIN + 1];

const WORDS = [
  'terminate', 'terminate-hard', 'poweroff', 'poweroff-hard', 'resume', 'hold', 'release', 'stop', 'suspend',
  'reboot', 'undeploy', 'backup', 'OS', 'CDROM', 'DATABLOCK', 'KERNEL', 'RAMDISK', 'CONTEXT', 'BACKUP', 'core',
  'public', 'ldap', 'server_cipher', 'dummy', 'kvm', 'fs', 'rsync', 'restic', 'YES', 'NO', '-', 'default',
];

/** Templates, valid and not, in oned's syntax; NAME is filled in so that allocations do not all collide. */
const TEMPLATES = [
  'NAME = "@"',
  'NAME = "@"\nBACKUP_VMS = "0,1,2"\nMODE = "INCREMENT"\nKEEP_LAST = 2',
  'NAME = "@"\nSCHED_ACTION = [ ACTION = "backup", TIME = "+3600", REPEAT = 0, DAYS = "1,3", END_TYPE = 1, END_VALUE = 3 ]',
  'SCHED_ACTION = [ ACTION = "terminate", TIME = "0" ]',
  'NAME = "@"\nCPU = 0.1\nMEMORY = 64\nDISK = [ IMAGE_ID = 0 ]\nDISK = [ TYPE = "fs", SIZE = 10 ]',
  'NAME = "@"\nTYPE = "BACKUP_DS"\nDS_MAD = "rsync"\nTM_MAD = "-"',
  'NAME = "@"\nTYPE = "DATABLOCK"\nSIZE = 10',
  'NAME = "@"\nPATH = "/etc/passwd"',
  'NAME = "@"\nTOTAL_CPU = 800\nTOTAL_MEMORY = 1048576',
  'ACTION = "backup"\nTIME = "-5"',
  'A = [',
  'A = "unterminated',
  '= value',
  'NAME = [ X = [ Y = 1 ] ]',
  '<TEMPLATE><NAME>@</NAME><CPU>1</CPU></TEMPLATE>',
  '<TEMPLATE><NAME><![CDATA[@]]></NAME>',
  'NAME = "@"\nOWNER_U = 1\nUMASK = 777\nEMU_BACKUP_SECONDS = 0\nEMU_BACKUP_FAIL = "x"',
];

const ODD_STRINGS = [
  '', ' ', '\t\n', '<>&"\'', ']]>', '&amp;', '&#0;', 'ünïcödé', '日本語', '🙂🚀', 'a\u0000b', '\u0007\u001b[31m',
  '\uFFFE', '\uD800', 'x'.repeat(300), '-1', '0', '2147483648', '1e309', 'NaN', '__proto__', 'constructor',
  'prototype', 'toString', "'; DROP TABLE user_pool; --", '%s%n%x', '../../etc/passwd', 'oneadmin', 'serveradmin',
];

function randomString(rng: Rng, depth = 0): string {
  switch (rng.int(6)) {
    case 0: return rng.pick(WORDS);
    case 1: return rng.pick(TEMPLATES).replaceAll('@', `fz-${rng.int(1000)}`);
    case 2: return rng.pick(ODD_STRINGS);
    case 3: return `fz-${rng.int(100000)}`;
    case 4: return Array.from({ length: rng.int(40) }, () => String.fromCodePoint(rng.chance(0.8)
      ? 32 + rng.int(95) : rng.int(0x11000))).join('');
    default: return depth < 2 ? `${randomString(rng, depth + 1)}\n${randomString(rng, depth + 1)}` : 'NAME = x';
  }
}

function wellTyped(rng: Rng, type: string): RpcValue {
  switch (type) {
    case 'i': return rng.chance(0.8) ? rng.pick(INTS) : rng.int(2 ** 32) + INT32_MIN;
    case 's': return randomString(rng);
    case 'b': return rng.chance(0.5);
    case 'd': return new RpcDouble(rng.float() * 1000 - 500);
    case 'A': return Array.from({ length: rng.int(4) }, () => (rng.chance(0.8) ? rng.pick(INTS) : randomString(rng)));
    case 'S': return new Map([[randomString(rng), wellTyped(rng, 'i')]]);
    default: throw new Error(`no values for signature letter ${type}`);
  }
}

/** Any XML-RPC value, nested a little. */
function anyValue(rng: Rng, depth = 0): RpcValue {
  switch (rng.int(depth < 3 ? 12 : 9)) {
    case 0: return wellTyped(rng, 'i');
    case 1: return randomString(rng);
    case 2: return rng.chance(0.5);
    case 3: return new RpcDouble(rng.chance(0.5) ? -0.5 : 1.7976931348623157e308 * rng.float());
    case 4: return new RpcI8(BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 31)) * (rng.chance(0.5) ? -1n : 1n));
    case 5: return null;
    case 6: return rng.bytes(rng.int(20));
    case 7: return new RpcDateTime('20240131T10:20:30');
    case 8: return String(rng.pick(INTS));
    case 9: case 10: return Array.from({ length: rng.int(4) }, () => anyValue(rng, depth + 1));
    default: return new Map(Array.from({ length: rng.int(4) }, () => [rng.pick(STRUCT_KEYS), anyValue(rng, depth + 1)]));
  }
}

const STRUCT_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'NAME', 'ID', ''];

/** Ids 0 of one.user.* methods are left out: passwd, chauth, enable or delete on oneadmin would lock the fuzzer out. */
function callParams(rng: Rng, m: MethodSignature, session: string): RpcValue[] {
  const types = parameterTypes(m.signature);
  const required = m.required ?? types.length;
  const count = required + rng.int(types.length - required + 1);
  const params: RpcValue[] = [session];
  for (let i = 1; i < count; i++) params.push(wellTyped(rng, types[i]));
  if (m.name.startsWith('one.user.') && types[1] === 'i' && params[1] === 0) params[1] = 2;
  return params;
}

const BAD_SESSIONS = [
  'oneadmin:not-the-password', 'oneadmin', 'oneadmin:', ':', '', 'nobody-zz:pw', 'bad name:pw', 'a:b:c',
  'serveradmin:not-the-password', `oneadmin:${'x'.repeat(5000)}`, '\u0000:x', 'ONEADMIN:not-the-password',
];

function badSession(rng: Rng): RpcValue {
  return rng.chance(0.85) ? rng.pick(BAD_SESSIONS) : anyValue(rng);
}

// ---------------------------------------------------------------------------------------------------------------
// Raw XML

const wrapCall = (method: string, paramsXml: string) =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${paramsXml}</params></methodCall>`;
const paramXml = (valueXml: string) => `<param><value>${valueXml}</value></param>`;
const sessionXml = (session: string) => paramXml(`<string>${escapeText(session)}</string>`);

const BILLION_LAUGHS = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
  + Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')
  + ']><methodCall><methodName>one.system.version</methodName><params><param><value><string>&lol9;</string></value>'
  + '</param></params></methodCall>';

/** n levels of `kind` around a scalar; `closed` false leaves them open, as a truncated bomb would. */
function nested(kind: 'array' | 'struct', n: number, closed = true): string {
  const open = kind === 'array' ? '<value><array><data>' : '<value><struct><member><name>k</name>';
  const close = kind === 'array' ? '</data></array></value>' : '</member></struct></value>';
  return `<param>${open.repeat(n)}<value>x</value>${closed ? close.repeat(n) : ''}</param>`;
}

/** A call of `method` with the session, the parameters in `before`, a string of `size` bytes of 'a', then `after`. */
function hugeCall(method: string, session: string, size: number, before = '', after = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${sessionXml(session)}${before}`
      + '<param><value><string>'),
    Buffer.alloc(size, 0x61),
    Buffer.from(`</string></value></param>${after}</params></methodCall>`),
  ]);
}

interface Special {
  what: string;
  build(ctx: FuzzContext): Buffer;
  chunked?: boolean;
  mayAuthenticate?: boolean;
  expectFault?: number;
  expectAuthFailure?: string;
}

const MB = 1024 * 1024;
const text = (s: string) => Buffer.from(s, 'utf8');

/** The hostile cases every run starts with. */
const SPECIALS: Special[] = [
  { what: 'billion laughs', build: () => text(BILLION_LAUGHS), expectFault: FAULT.PARSE },
  {
    what: 'external entity (file)', expectFault: FAULT.PARSE,
    build: () => text('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
      + wrapCall('one.system.version', paramXml('<string>&x;</string>'))),
  },
  {
    what: 'external entity (http)', expectFault: FAULT.PARSE,
    build: () => text('<!DOCTYPE m SYSTEM "http://127.0.0.1:9/evil.dtd">' + wrapCall('one.system.version', paramXml('x'))),
  },
  {
    what: 'parameter entity', expectFault: FAULT.PARSE,
    build: () => text('<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
      + wrapCall('one.system.version', paramXml('x'))),
  },
  { what: 'undeclared entity', expectFault: FAULT.PARSE, build: () => text(wrapCall('one.system.version', paramXml('<string>&lol;</string>'))) },
  { what: '&constructor; entity', expectFault: FAULT.PARSE, build: () => text(wrapCall('one.system.version', paramXml('&constructor;'))) },
  { what: '&#x110000; reference', expectFault: FAULT.PARSE, build: () => text(wrapCall('one.system.version', paramXml('&#x110000;'))) },
  { what: '&#0; reference', expectFault: FAULT.PARSE, build: () => text(wrapCall('one.system.version', paramXml('&#0;'))) },
  { what: '10 000 nested arrays', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.update', sessionXml(c.session) + nested('array', 10000))) },
  { what: '10 000 nested structs', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.update', sessionXml(c.session) + nested('struct', 10000))) },
  { what: '10 000 unclosed arrays', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.update', sessionXml(c.session) + nested('array', 10000, false))) },
  { what: '100 000 unclosed <value>s', expectFault: FAULT.PARSE, build: () => text(`<methodCall><methodName>m</methodName><params><param>${'<value>'.repeat(100000)}`) },
  { what: '63 nested arrays (within the limit)', mayAuthenticate: true, expectFault: FAULT.TYPE, build: (c) => text(wrapCall('one.vm.update', sessionXml(c.session) + nested('array', 63))) },
  { what: '64 nested arrays (one too many)', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.update', sessionXml(c.session) + nested('array', 64))) },
  {
    what: '50 MB string, Content-Length', expectFault: FAULT.LIMIT,
    build: (c) => hugeCall('one.backupjob.allocate', c.session, 50 * MB),
  },
  {
    what: '50 MB string, chunked', chunked: true, expectFault: FAULT.LIMIT,
    build: (c) => hugeCall('one.backupjob.allocate', c.session, 50 * MB),
  },
  {
    what: 'string just under MESSAGE_SIZE, bad session', expectAuthFailure: 'one.backupjob.allocate',
    build: (c) => hugeCall('one.backupjob.allocate', 'oneadmin:not-the-password', c.messageSize - 512),
  },
  {
    what: 'string just under MESSAGE_SIZE, oneadmin, no such job', mayAuthenticate: true,
    build: (c) => hugeCall('one.backupjob.update', c.session, c.messageSize - 512, paramXml('<i4>999999</i4>'), paramXml('<i4>0</i4>')),
  },
  { what: 'MESSAGE_SIZE of "<"', expectFault: FAULT.PARSE, build: (c) => Buffer.alloc(c.messageSize, 0x3c) },
  {
    what: 'invalid UTF-8 (0xff)', expectFault: FAULT.ENCODING,
    build: (c) => Buffer.concat([text(`<methodCall><methodName>one.system.version</methodName><params><param><value>${c.session}`),
      Buffer.from([0xff]), text('</value></param></params></methodCall>')]),
  },
  { what: 'overlong UTF-8', expectFault: FAULT.ENCODING, build: () => Buffer.concat([text('<methodCall><methodName>'), Buffer.from([0xc0, 0xaf]), text('</methodName></methodCall>')]) },
  { what: 'UTF-8 surrogate', expectFault: FAULT.ENCODING, build: () => Buffer.concat([text('<methodCall><methodName>m</methodName><params><param><value>'), Buffer.from([0xed, 0xa0, 0x80]), text('</value></param></params></methodCall>')]) },
  { what: 'UTF-16 body', build: (c) => Buffer.from(`\uFEFF${wrapCall('one.system.version', sessionXml(c.session))}`, 'utf16le') },
  {
    what: '__proto__ and constructor struct members', mayAuthenticate: true, expectFault: FAULT.TYPE,
    build: (c) => text(wrapCall('one.user.allocate', sessionXml(c.session) + paramXml('<struct><member><name>__proto__</name>'
      + '<value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member>'
      + '<member><name>constructor</name><value><struct><member><name>prototype</name><value><struct><member>'
      + '<name>polluted</name><value>yes</value></member></struct></value></member></struct></value></member></struct>'))),
  },
  { what: 'method named __proto__', expectFault: FAULT.NO_METHOD, build: (c) => text(encodeCall('__proto__', [c.session])) },
  { what: 'method named constructor', expectFault: FAULT.NO_METHOD, build: (c) => text(encodeCall('constructor', [c.session])) },
  { what: 'method named hasOwnProperty', expectFault: FAULT.NO_METHOD, build: (c) => text(encodeCall('hasOwnProperty', [c.session])) },
  { what: '<i4> of 2^31', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<i4>2147483648</i4>'))) },
  { what: '<int> of -2^31-1', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<int>-2147483649</int>'))) },
  { what: '<i8> of 2^63', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<i8>9223372036854775808</i8>'))) },
  { what: '<i4> of 1 000 digits', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml(`<i4>${'9'.repeat(1000)}</i4>`))) },
  { what: '<i8> where an int goes', mayAuthenticate: true, expectFault: FAULT.TYPE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<i8>1</i8>'))) },
  { what: '<double> of 1e400', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<double>1e400</double>'))) },
  { what: '<double> NaN', expectFault: FAULT.PARSE, build: (c) => text(wrapCall('one.vm.info', sessionXml(c.session) + paramXml('<double>NaN</double>'))) },
  { what: 'no parameters', expectFault: FAULT.INTERNAL, build: () => text(wrapCall('one.system.version', '')) },
  { what: 'empty body', expectFault: FAULT.PARSE, build: () => Buffer.alloc(0) },
  { what: 'junk after the document', expectFault: FAULT.PARSE, build: (c) => text(`${wrapCall('one.system.version', sessionXml(c.session))}<methodCall/>`) },
  { what: 'methodResponse sent as a call', expectFault: FAULT.PARSE, build: () => text('<methodResponse><params><param><value>1</value></param></params></methodResponse>') },
];

// ---------------------------------------------------------------------------------------------------------------
// Mutations

const TAGS = ['value', 'string', 'i4', 'int', 'i8', 'boolean', 'double', 'array', 'data', 'struct', 'member', 'name',
  'param', 'params', 'methodName', 'methodCall', 'nil', 'base64', 'dateTime.iso8601', 'ex:i8', 'bogus', ''];

function mangleBytes(rng: Rng, body: Buffer): Buffer {
  const edits = 1 + rng.int(4);
  let result = Buffer.from(body);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(result.length + 1);
    switch (rng.int(4)) {
      case 0: // overwrite with any byte (often invalid UTF-8)
        if (at < result.length) result[at] = rng.int(256);
        break;
      case 1: // insert a sequence that is not UTF-8
        result = Buffer.concat([result.subarray(0, at), Buffer.from(rng.pick([[0x80], [0xc3, 0x28], [0xf5, 0x80, 0x80, 0x80], [0xed, 0xbf, 0xbf], [0xef, 0xbf, 0xbe]])), result.subarray(at)]);
        break;
      case 2: // delete a run
        result = Buffer.concat([result.subarray(0, at), result.subarray(Math.min(result.length, at + 1 + rng.int(20)))]);
        break;
      default: // duplicate a run
        result = Buffer.concat([result.subarray(0, at), result.subarray(at, at + 1 + rng.int(40)), result.subarray(at)]);
    }
  }
  return result;
}

function mangleTags(rng: Rng, xml: string): string {
  const tags = [...xml.matchAll(/<\/?([A-Za-z.:0-9]*)\s*\/?>/g)];
  let out = xml;
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits && tags.length > 0; e++) {
    const tag = rng.pick(tags);
    const start = tag.index ?? 0;
    switch (rng.int(5)) {
      case 0: out = out.slice(0, start) + tag[0].replace(tag[1], rng.pick(TAGS)) + out.slice(start + tag[0].length); break;
      case 1: out = out.slice(0, start) + out.slice(start + tag[0].length); break;
      case 2: out = out.slice(0, start) + tag[0] + tag[0] + out.slice(start + tag[0].length); break;
      case 3: out = out.slice(0, start) + rng.pick(['<!-- c -->', '<?pi x?>', '<![CDATA[<x>]]>', '&amp;', '&#10;', '&bogus;', '<x/>', ' a="1"'])
        + out.slice(start); break;
      default: out = out.slice(0, start) + rng.pick(['<value><i4>1</i4></value>', '<param><value><nil/></value></param>',
        '<member><name>__proto__</name><value>p</value></member>', '<i4>99999999999</i4>', '<i8>-99999999999999999999</i8>'])
        + out.slice(start);
    }
  }
  return out;
}

function mutateParams(rng: Rng, params: RpcValue[]): { params: RpcValue[]; what: string } {
  const out = [...params];
  switch (rng.int(5)) {
    case 0: {
      const at = rng.int(out.length);
      out.splice(at, 1);
      return { params: out, what: `parameter ${at} dropped` };
    }
    case 1: {
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) out.push(anyValue(rng));
      return { params: out, what: `${n} extra parameters` };
    }
    case 2: {
      const at = out.length > 1 ? 1 + rng.int(out.length - 1) : 0;
      out[at] = anyValue(rng);
      return { params: out, what: `parameter ${at} retyped` };
    }
    case 3:
      return { params: out.reverse(), what: 'parameters reversed' };
    default:
      return { params: out.slice(0, rng.int(out.length + 1)), what: 'parameters cut short' };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

/** Bodies before the random ones: the fixed hostile cases, then one well-typed call per method. */
export function fixedBodyCount(ctx: FuzzContext): number {
  return SPECIALS.length + ctx.methods.length;
}

export function fuzzBody(seed: number, index: number, ctx: FuzzContext): FuzzBody {
  const rng = new Rng(seed, index);
  const base = { index, chunked: false, mayAuthenticate: false };
  if (index < SPECIALS.length) {
    const s = SPECIALS[index];
    return { ...base, kind: 'special', what: s.what, bytes: s.build(ctx), chunked: s.chunked ?? false,
      mayAuthenticate: s.mayAuthenticate ?? false, expectFault: s.expectFault, expectAuthFailure: s.expectAuthFailure };
  }
  if (index < fixedBodyCount(ctx)) {
    const m = ctx.methods[index - SPECIALS.length];
    return { ...base, kind: 'call', what: m.name, method: m.name, mayAuthenticate: true,
      bytes: text(encodeCall(m.name, callParams(rng, m, ctx.session))) };
  }

  const m = rng.pick(ctx.methods);
  const valid = () => text(encodeCall(m.name, callParams(rng, m, ctx.session)));
  const roll = rng.float();
  if (roll < 0.3) return { ...base, kind: 'call', what: m.name, method: m.name, mayAuthenticate: true, bytes: valid() };
  if (roll < 0.5) {
    const { params, what } = mutateParams(rng, callParams(rng, m, ctx.session));
    return { ...base, kind: 'mutated', what: `${m.name}: ${what}`, method: m.name, mayAuthenticate: params[0] === ctx.session,
      expectFault: params.length === 0 ? FAULT.INTERNAL : undefined, bytes: text(encodeCall(m.name, params)) };
  }
  if (roll < 0.6) {
    const params = callParams(rng, m, ctx.session);
    params[0] = badSession(rng);
    const mutated = rng.chance(0.5) ? mutateParams(rng, params).params : params;
    const sessionKept = mutated.length > 0 && mutated[0] === params[0];
    return { ...base, kind: 'bad-session', what: m.name, method: m.name, bytes: text(encodeCall(m.name, mutated)),
      expectAuthFailure: sessionKept ? m.name : undefined };
  }
  if (roll < 0.67) {
    const name = rng.pick([`${m.name}x`, m.name.toUpperCase(), m.name.replace(/\.[^.]*$/, '.clone'), randomString(rng),
      ` ${m.name}`, `${m.name}\n`, '']);
    const params = callParams(rng, m, ctx.session);
    return { ...base, kind: 'unknown-method', what: JSON.stringify(name).slice(0, 40), bytes: text(encodeCall(name, params)),
      expectFault: FAULT.NO_METHOD };
  }
  if (roll < 0.75) {
    const whole = valid();
    const at = rng.int(whole.length - 1);
    // A cut inside a multi-byte character leaves bytes that are not UTF-8.
    return { ...base, kind: 'truncated', what: `${m.name} cut at ${at}/${whole.length}`, bytes: whole.subarray(0, at) };
  }
  // The session may come through a mangling whole.
  if (roll < 0.85) return { ...base, kind: 'bytes', what: m.name, mayAuthenticate: true, bytes: mangleBytes(rng, valid()) };
  if (roll < 0.95) {
    return { ...base, kind: 'tags', what: m.name, mayAuthenticate: true, bytes: text(mangleTags(rng, valid().toString('utf8'))) };
  }
  const garbage = rng.int(4);
  return {
    ...base, kind: 'garbage',
    what: ['random bytes', 'random text', 'XML soup', 'call fragments'][garbage],
    bytes: garbage === 0 ? rng.bytes(rng.int(2000))
      : garbage === 1 ? text(randomString(rng))
        : garbage === 2 ? text(Array.from({ length: rng.int(60) }, () => rng.pick(['<', '>', '</', '/>', '<?', '?>', '<!', ']]>', '&', ';', '"', '=', ...TAGS])).join(''))
          : text(Array.from({ length: 1 + rng.int(8) }, () => rng.pick([wrapCall(m.name, ''), paramXml('<i4>1</i4>'), '<params>', '</methodCall>', sessionXml(ctx.session)])).join('')),
  };
}
