import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCall, decodeResponse, encodeCall, encodeFault, encodeResponse, type DecodedCall } from '../../src/rpc/codec.js';
import { FAULT, RpcFault } from '../../src/rpc/faults.js';
import { RpcDateTime, RpcDouble, RpcI8, describeType, type RpcValue } from '../../src/rpc/values.js';

const call = (paramsXml: string, method = 'one.test') =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${paramsXml}</params></methodCall>`;
const param = (valueXml: string) => `<param><value>${valueXml}</value></param>`;
const decode = (xml: string | Buffer): DecodedCall => decodeCall(typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml);
const decodeOne = (valueXml: string): RpcValue => decode(call(param(valueXml))).params[0];

function assertFault(fn: () => unknown, code: number, text?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RpcFault, `expected RpcFault, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    return true;
  });
}

/** n arrays, each inside the <value> of the one around it; the innermost is empty. */
function nestedArrays(n: number): string {
  return call(`<param><value>${'<array><data><value>'.repeat(n - 1)}<array><data></data></array>`
    + `${'</value></data></array>'.repeat(n - 1)}</value></param>`);
}

describe('decodeCall: accepted values', () => {
  it('reads the method name and an empty parameter list', () => {
    assert.deepEqual(decode('<methodCall><methodName>one.system.version</methodName><params/></methodCall>'),
      { method: 'one.system.version', params: [] });
    // Ruby's old XML-RPC omits <params> altogether; xmlrpc-c accepts that
    assert.deepEqual(decode('<methodCall><methodName>m</methodName></methodCall>'), { method: 'm', params: [] });
  });

  it('keeps <i4> and <int> as 32-bit numbers, including the bounds', () => {
    assert.equal(decodeOne('<i4>5</i4>'), 5);
    assert.equal(decodeOne('<int>-7</int>'), -7);
    assert.equal(decodeOne('<i4>+3</i4>'), 3);
    assert.equal(decodeOne('<i4>2147483647</i4>'), 2147483647);
    assert.equal(decodeOne('<int>-2147483648</int>'), -2147483648);
    assert.ok(Object.is(decodeOne('<i4>-0</i4>'), 0));
  });

  it('keeps <i8> as RpcI8 with a bigint, across the whole 64-bit range', () => {
    assert.deepEqual(decodeOne('<i8>-1</i8>'), new RpcI8(-1n));
    assert.deepEqual(decodeOne('<i8>9223372036854775807</i8>'), new RpcI8(9223372036854775807n));
    assert.deepEqual(decodeOne('<i8>-9223372036854775808</i8>'), new RpcI8(-9223372036854775808n));
    assert.deepEqual(decodeOne('<ex:i8>42</ex:i8>'), new RpcI8(42n));
  });

  it('reads <boolean>, <double>, <nil/>, <base64>, <dateTime.iso8601>', () => {
    assert.equal(decodeOne('<boolean>1</boolean>'), true);
    assert.equal(decodeOne('<boolean>0</boolean>'), false);
    assert.deepEqual(decodeOne('<double>-12.5</double>'), new RpcDouble(-12.5));
    assert.deepEqual(decodeOne('<double>3.4E6</double>'), new RpcDouble(3.4e6));
    assert.equal(decodeOne('<nil/>'), null);
    assert.equal(decodeOne('<ex:nil/>'), null);
    assert.deepEqual(decodeOne('<base64>aGVs\nbG8=</base64>'), Buffer.from('hello'));
    assert.deepEqual(decodeOne('<dateTime.iso8601>20240131T10:20:30</dateTime.iso8601>'),
      new RpcDateTime('20240131T10:20:30'));
  });

  it('reads <string>, bare text, empty values and surrounding whitespace', () => {
    assert.equal(decodeOne('<string>a b</string>'), 'a b');
    assert.equal(decodeOne('bare text'), 'bare text');
    assert.equal(decodeOne('<string/>'), '');
    assert.equal(decodeOne(''), '');
    assert.equal(decodeOne('  '), '  ', 'a <value> with only text keeps it verbatim');
    assert.equal(decodeOne('\n  <i4>9</i4>\n'), 9, 'whitespace around a typed element is layout');
    assert.equal(decodeOne('<string><![CDATA[<TEMPLATE>&</TEMPLATE>]]></string>'), '<TEMPLATE>&</TEMPLATE>');
  });

  it('decodes character references (goca sends &#xA; &#x9; &#34;) and the five XML entities', () => {
    assert.equal(decodeOne('<string>NAME = &#34;x&#34;&#xA;&#x9;KEEP = 1</string>'), 'NAME = "x"\n\tKEEP = 1');
    assert.equal(decodeOne('<string>&lt;&gt;&amp;&quot;&apos;&#233;&#x1F600;</string>'), '<>&"\'é😀');
    assert.equal(decodeOne('<string>a&#xD;b</string>'), 'a\rb');
  });

  it('reads arrays and structs, nested, as arrays and Maps', () => {
    const v = decodeOne('<struct><member><name>a</name><value><array><data><value><i4>1</i4></value>'
      + '<value>x</value></data></array></value></member><member><name>b</name><value><struct/></value></member>'
      + '</struct>');
    assert.deepEqual(v, new Map<string, RpcValue>([['a', [1, 'x']], ['b', new Map()]]));
    assert.deepEqual(decodeOne('<array><data/></array>'), []);
  });

  it('keeps the last of duplicated struct members, like xmlrpc-c', () => {
    const v = decodeOne('<struct><member><name>k</name><value>1</value></member>'
      + '<member><name>k</name><value>2</value></member></struct>');
    assert.deepEqual(v, new Map([['k', '2']]));
  });

  it('reads several parameters in order, as the Ruby OCA sends them', () => {
    const d = decode(call(param('<string>oneadmin:pw</string>') + param('<i4>3</i4>') + param('<boolean>0</boolean>'),
      'one.backupjob.lock'));
    assert.deepEqual(d, { method: 'one.backupjob.lock', params: ['oneadmin:pw', 3, false] });
  });

  it('skips a byte-order mark', () => {
    assert.equal(decode(`\uFEFF${call(param('<i4>1</i4>'))}`).params[0], 1);
  });

  it('treats "__proto__" and "constructor" members as plain keys and leaves Object.prototype alone', () => {
    const v = decodeOne('<struct><member><name>__proto__</name><value><struct><member><name>polluted</name>'
      + '<value>yes</value></member></struct></value></member><member><name>constructor</name><value>'
      + '<struct><member><name>prototype</name><value><struct><member><name>polluted</name><value>yes</value>'
      + '</member></struct></value></member></struct></value></member></struct>');
    assert.ok(v instanceof Map);
    assert.deepEqual([...v.keys()], ['__proto__', 'constructor']);
    assert.deepEqual(v.get('__proto__'), new Map([['polluted', 'yes']]));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });
});

describe('decodeCall: refused documents', () => {
  it('refuses bodies that are not an XML-RPC call with -503', () => {
    assertFault(() => decode(''), FAULT.PARSE, /not valid XML/);
    assertFault(() => decode('   '), FAULT.PARSE);
    assertFault(() => decode('garbage'), FAULT.PARSE, /not valid XML/);
    assertFault(() => decode('<methodResponse><params><param><value>1</value></param></params></methodResponse>'),
      FAULT.PARSE, /should be a <methodCall> element/);
    assertFault(() => decode('<methodCall><methodName>x</methodName><params><param><value><i4>1'),
      FAULT.PARSE, /not valid XML/);
    assertFault(() => decode('<methodCall><params/></methodCall>'), FAULT.PARSE, /<methodName>/);
    assertFault(() => decode('<methodCall><methodName>x</methodName></methodCall>trailing'), FAULT.PARSE);
    assertFault(() => decode('<methodCall><methodName>x</methodName></methodCall><methodCall/>'), FAULT.PARSE);
    assertFault(() => decode('<methodCall><methodName>x</methodName><methodName>y</methodName></methodCall>'), FAULT.PARSE);
  });

  it('refuses elements where XML-RPC does not allow them', () => {
    assertFault(() => decodeOne('<foo>1</foo>'), FAULT.PARSE, /Unknown value type/);
    assertFault(() => decodeOne('<i4><i4>1</i4></i4>'), FAULT.PARSE, /should not have children/);
    assertFault(() => decodeOne('<i4>1</i4><i4>2</i4>'), FAULT.PARSE, /Only zero or one/);
    assertFault(() => decode(call('<param></param>')), FAULT.PARSE, /<param>/);
    assertFault(() => decode(call('<value>1</value>')), FAULT.PARSE, /<param>/);
    assertFault(() => decodeOne('<struct><member><value>1</value><name>a</name></member></struct>'), FAULT.PARSE);
    assertFault(() => decodeOne('<struct><member><name>a</name></member></struct>'), FAULT.PARSE, /<member>/);
    assertFault(() => decodeOne('<array><value>1</value></array>'), FAULT.PARSE, /<data>/);
    assertFault(() => decodeOne('<array></array>'), FAULT.PARSE, /<array>/);
  });

  it('refuses malformed numbers and booleans, and ints outside 32 bits, with -503', () => {
    assertFault(() => decodeOne('<i4>2147483648</i4>'), FAULT.PARSE, /beyond the range/);
    assertFault(() => decodeOne('<int>-2147483649</int>'), FAULT.PARSE, /beyond the range/);
    assertFault(() => decodeOne('<i8>9223372036854775808</i8>'), FAULT.PARSE, /beyond the range/);
    assertFault(() => decodeOne('<i4>12abc</i4>'), FAULT.PARSE, /non-numerical/);
    assertFault(() => decodeOne('<i4> 5</i4>'), FAULT.PARSE, /white space/);
    assertFault(() => decodeOne('<i4></i4>'), FAULT.PARSE, /empty/);
    assertFault(() => decodeOne('<i4>1.0</i4>'), FAULT.PARSE);
    assertFault(() => decodeOne('<double>1.2.3</double>'), FAULT.PARSE, /floating point/);
    assertFault(() => decodeOne('<double>1e999</double>'), FAULT.PARSE, /floating point/);
    assertFault(() => decodeOne('<double></double>'), FAULT.PARSE);
    assertFault(() => decodeOne('<boolean>true</boolean>'), FAULT.PARSE, /'0' or '1'/);
    assertFault(() => decodeOne('<boolean></boolean>'), FAULT.PARSE);
    assertFault(() => decodeOne('<base64>not*base64</base64>'), FAULT.PARSE);
    assertFault(() => decodeOne('<dateTime.iso8601>yesterday</dateTime.iso8601>'), FAULT.PARSE);
  });

  it('refuses a DOCTYPE and never expands entities (billion laughs)', () => {
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
      + '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
      + '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
      + '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
      + `<methodCall><methodName>m</methodName><params>${param('<string>&lol3;</string>')}</params></methodCall>`;
    assertFault(() => decode(laughs), FAULT.PARSE, /DOCTYPE/);
    assertFault(() => decode(`<!DOCTYPE methodCall>${call('')}`), FAULT.PARSE, /DOCTYPE/);
    assertFault(() => decode(`<!ENTITY x "y">${call('')}`), FAULT.PARSE);
    assertFault(() => decodeOne('<string>&lol;</string>'), FAULT.PARSE, /entity/);
    assertFault(() => decodeOne('<string>&nbsp;</string>'), FAULT.PARSE, /entity/);
    assertFault(() => decodeOne('<string>&constructor;</string>'), FAULT.PARSE, /entity/);
  });

  it('refuses characters XML 1.0 does not allow, raw or as references', () => {
    assertFault(() => decodeOne('<string>a\u0001b</string>'), FAULT.PARSE, /U\+0001/);
    assertFault(() => decodeOne('<string>a&#1;b</string>'), FAULT.PARSE);
    assertFault(() => decodeOne('<string>&#xD800;</string>'), FAULT.PARSE, /U\+D800/);
    assertFault(() => decodeOne('<string>&#x110000;</string>'), FAULT.PARSE);
  });

  it('allows 64 levels of <value> nesting and refuses 65 (xmlrpc-c: "Nested data structure too deep.")', () => {
    const v = decode(nestedArrays(64)).params[0];
    let depth = 0;
    for (let cur: RpcValue = v; Array.isArray(cur); cur = (cur as RpcValue[])[0]) depth++;
    assert.equal(depth, 64);
    assertFault(() => decode(nestedArrays(65)), FAULT.PARSE, /Nested data structure too deep/);
    const structs = (n: number) => call(`<param><value>${'<struct><member><name>k</name><value>'.repeat(n)}x`
      + `${'</value></member></struct>'.repeat(n)}</value></param>`);
    assert.doesNotThrow(() => decode(structs(63)));
    assertFault(() => decode(structs(64)), FAULT.PARSE, /too deep/); // the innermost scalar is the 65th <value>
  });

  it('honours maxDepth', () => {
    assert.doesNotThrow(() => decodeCall(Buffer.from(nestedArrays(3)), { maxDepth: 3 }));
    assertFault(() => decodeCall(Buffer.from(nestedArrays(4)), { maxDepth: 3 }), FAULT.PARSE, /too deep/);
  });

  it('refuses 10000 levels of nesting with a fault, not a stack overflow', () => {
    assertFault(() => decode(nestedArrays(10000)), FAULT.PARSE, /too deep/);
    const unclosed = call(`<param><value>${'<array><data><value>'.repeat(10000)}`);
    assertFault(() => decode(unclosed), FAULT.PARSE);
  });

  it('refuses invalid UTF-8 with -510', () => {
    const prefix = '<methodCall><methodName>m</methodName><params><param><value><string>';
    const wrap = (bytes: number[]) => Buffer.concat([Buffer.from(prefix), Buffer.from(bytes),
      Buffer.from('</string></value></param></params></methodCall>')]);
    assertFault(() => decodeCall(wrap([0xc3, 0x28])), FAULT.ENCODING, /UTF-8/);
    assertFault(() => decodeCall(wrap([0xc0, 0xaf])), FAULT.ENCODING); // overlong "/"
    assertFault(() => decodeCall(wrap([0xed, 0xa0, 0x80])), FAULT.ENCODING); // an encoded surrogate
    assertFault(() => decodeCall(wrap([0xff])), FAULT.ENCODING);
    assertFault(() => decodeCall(wrap([0x41, 0xe2, 0x82])), FAULT.ENCODING, new RegExp(`offset ${prefix.length + 1}\\b`));
    assert.equal(decodeCall(wrap([0xe2, 0x82, 0xac])).params[0], '€');
  });
});

describe('encoding', () => {
  it('writes oned\'s failure array exactly, with <i4>, <boolean>0 and <i8>-1', () => {
    const xml = encodeResponse([false, '[one.backupjob.info] Error getting backup job [99].', 1024, 99, new RpcI8(-1n)]);
    assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?><methodResponse><params><param><value><array><data>'
      + '<value><boolean>0</boolean></value>'
      + '<value><string>[one.backupjob.info] Error getting backup job [99].</string></value>'
      + '<value><i4>1024</i4></value><value><i4>99</i4></value><value><i8>-1</i8></value>'
      + '</data></array></value></param></params></methodResponse>');
    assert.deepEqual(decodeResponse(xml).value,
      [false, '[one.backupjob.info] Error getting backup job [99].', 1024, 99, new RpcI8(-1n)]);
  });

  it('escapes <, >, & and CR in strings as xmlrpc-c does, and the text survives a round trip', () => {
    const text = '<BACKUPJOB><NAME>a&b</NAME></BACKUPJOB>\r\n"quoted" \'single\' ]]>';
    const xml = encodeResponse([true, text, 0]);
    assert.ok(xml.includes('<string>&lt;BACKUPJOB&gt;&lt;NAME&gt;a&amp;b&lt;/NAME&gt;&lt;/BACKUPJOB&gt;&#xD;\n'));
    assert.ok(!xml.includes('CDATA'));
    assert.deepEqual(decodeResponse(xml).value, [true, text, 0]);
  });

  it('replaces characters XML 1.0 cannot carry with U+FFFD, keeping the document parseable', () => {
    const xml = encodeResponse('a\u0000b\u0008c\u000Bd\uD800e\uFFFEf\u{1F600}g\th');
    assert.equal(decodeResponse(xml).value, 'a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\u{1F600}g\th');
    assert.equal(decodeResponse(encodeFault(-1, 'x\u0001y')).fault?.message, 'x\uFFFDy');
    assert.deepEqual(decodeCall(Buffer.from(encodeCall('m\u0002', [new Map([['k\u0003', 'v']])]))),
      { method: 'm\uFFFD', params: [new Map([['k\uFFFD', 'v']])] });
  });

  it('round-trips every type through encodeCall and decodeCall', () => {
    const params: RpcValue[] = [
      'session', '', 0, -2147483648, 2147483647, true, false, null, new RpcI8(-9223372036854775808n),
      new RpcDouble(0.1), new RpcDouble(-2.5e-7), new RpcDouble(1.5e21), Buffer.from([0, 1, 254, 255]),
      new RpcDateTime('19980717T14:08:55'), [1, ['x', [new Map()]]],
      new Map<string, RpcValue>([['__proto__', 1], ['constructor', 'c'], ['nested', new Map([['a', [true]]])]]),
    ];
    const xml = encodeCall('one.backupjob.allocate', params);
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>one.backupjob.allocate'));
    assert.deepEqual(decodeCall(Buffer.from(xml)), { method: 'one.backupjob.allocate', params });
    assert.ok(xml.includes('<double>-0.00000025</double>') && xml.includes('<double>1500000000000000000000</double>'));
  });

  it('encodes faults with an <i4> code', () => {
    const xml = encodeFault(-506, "Method 'one.backupjob.clone' not defined");
    assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?><methodResponse><fault><value><struct>'
      + '<member><name>faultCode</name><value><i4>-506</i4></value></member>'
      + "<member><name>faultString</name><value><string>Method 'one.backupjob.clone' not defined</string></value>"
      + '</member></struct></value></fault></methodResponse>');
    assert.deepEqual(decodeResponse(xml), { fault: { code: -506, message: "Method 'one.backupjob.clone' not defined" } });
  });

  it('refuses numbers that are not 32-bit integers and out-of-range wrappers', () => {
    assert.throws(() => encodeResponse(1.5), TypeError);
    assert.throws(() => encodeResponse([2 ** 31]), TypeError);
    assert.throws(() => new RpcI8(2n ** 63n), RangeError);
    assert.throws(() => new RpcDouble(Number.NaN), RangeError);
  });

  it('decodeResponse refuses malformed responses', () => {
    assertFault(() => decodeResponse('<methodResponse><params></params></methodResponse>'), FAULT.PARSE, /should have 1/);
    assertFault(() => decodeResponse('<methodResponse><fault><value><i4>1</i4></value></fault></methodResponse>'),
      FAULT.PARSE, /fault/);
    assertFault(() => decodeResponse(encodeCall('m', [])), FAULT.PARSE, /<methodResponse>/);
  });
});

describe('describeType', () => {
  it('names every value type', () => {
    const cases: Array<[RpcValue, string]> = [
      [1, 'int'], [new RpcI8(1n), 'i8'], [new RpcDouble(1), 'double'], [true, 'boolean'], ['s', 'string'],
      [null, 'nil'], [Buffer.alloc(0), 'base64'], [new RpcDateTime('x'), 'dateTime'], [[], 'array'],
      [new Map(), 'struct'],
    ];
    for (const [value, type] of cases) assert.equal(describeType(value), type);
  });
});
