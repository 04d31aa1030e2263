import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Template, TemplateParseError, escapeCdata, normalizeAttributeName, type Attribute,
} from '../../src/domain/template.js';

const cd = (value: string) => `<![CDATA[${value}]]>`;

/** Attributes in the template's own order, vectors as plain objects, for deepEqual. */
const plain = (t: Template) =>
  t.attributes.map((a) => [a.kind, a.name, a.kind === 'single' ? a.value : Object.fromEntries(a.value)]);

function parseError(text: string): string {
  try {
    Template.parse(text);
  } catch (err) {
    assert.ok(err instanceof TemplateParseError);
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

const assertReparses = (t: Template) => assert.equal(Template.parse(t.toText()).toXml(), t.toXml());

const GUIDE_TEMPLATE = `NAME = "My backup job"
BACKUP_VMS   = "13,15,3"
DATASTORE_ID = 101
FS_FREEZE = "NONE"
KEEP_LAST = "4"
MODE      = "INCREMENT"
PRIORITY  = 7
EXECUTION = "SEQUENTIAL"
SCHED_ACTION = [ REPEAT="0", DAYS="1,5", END_TYPE="0", TIME="1695478500" ]
SCHED_ACTION = [ REPEAT="3", DAYS="1", END_TYPE="0", TIME="1695478500" ]
`;

// ------------------------------------------------------------------------------------------------ text syntax

test('the Backup Jobs guide template parses and renders sorted, in CDATA', () => {
  const t = Template.parse(GUIDE_TEMPLATE);
  assert.equal(t.get('NAME'), 'My backup job');
  assert.equal(t.get('DATASTORE_ID'), '101');
  assert.equal(t.get('PRIORITY'), '7');
  assert.equal(t.get('SCHED_ACTION'), undefined);
  assert.deepEqual(t.getVectors('SCHED_ACTION').map((v) => Object.fromEntries(v)), [
    { REPEAT: '0', DAYS: '1,5', END_TYPE: '0', TIME: '1695478500' },
    { REPEAT: '3', DAYS: '1', END_TYPE: '0', TIME: '1695478500' },
  ]);
  assert.equal(t.toXml(),
    `<TEMPLATE><BACKUP_VMS>${cd('13,15,3')}</BACKUP_VMS><DATASTORE_ID>${cd('101')}</DATASTORE_ID>` +
    `<EXECUTION>${cd('SEQUENTIAL')}</EXECUTION><FS_FREEZE>${cd('NONE')}</FS_FREEZE><KEEP_LAST>${cd('4')}</KEEP_LAST>` +
    `<MODE>${cd('INCREMENT')}</MODE><NAME>${cd('My backup job')}</NAME><PRIORITY>${cd('7')}</PRIORITY>` +
    `<SCHED_ACTION><DAYS>${cd('1,5')}</DAYS><END_TYPE>${cd('0')}</END_TYPE><REPEAT>${cd('0')}</REPEAT>` +
    `<TIME>${cd('1695478500')}</TIME></SCHED_ACTION>` +
    `<SCHED_ACTION><DAYS>${cd('1')}</DAYS><END_TYPE>${cd('0')}</END_TYPE><REPEAT>${cd('3')}</REPEAT>` +
    `<TIME>${cd('1695478500')}</TIME></SCHED_ACTION></TEMPLATE>`);
  assertReparses(t);
});

test('CLI schedadd forms: unquoted values, one-line vectors, a leading newline', () => {
  const weekly = Template.parse('SCHED_ACTION = [TIME    = 1795677360, REPEAT = 0, DAYS = "1,3", END_TYPE = 0]');
  assert.deepEqual(plain(weekly),
    [['vector', 'SCHED_ACTION', { TIME: '1795677360', REPEAT: '0', DAYS: '1,3', END_TYPE: '0' }]]);
  assert.equal(weekly.toXml(),
    `<TEMPLATE><SCHED_ACTION><DAYS>${cd('1,3')}</DAYS><END_TYPE>${cd('0')}</END_TYPE><REPEAT>${cd('0')}</REPEAT>` +
    `<TIME>${cd('1795677360')}</TIME></SCHED_ACTION></TEMPLATE>`);

  const once = Template.parse('SCHED_ACTION = [TIME    = 1795677360]');
  assert.deepEqual(plain(once), [['vector', 'SCHED_ACTION', { TIME: '1795677360' }]]);

  const schedUpdate = Template.parse('\nSCHED_ACTION = [REPEAT = "3",DAYS = "5",TIME = "1795677300"]');
  assert.deepEqual(plain(schedUpdate),
    [['vector', 'SCHED_ACTION', { REPEAT: '3', DAYS: '5', TIME: '1795677300' }]]);
  for (const t of [weekly, once, schedUpdate]) assertReparses(t);
});

test('CLI options-built templates repeat keys: all kept by default, the last one in replace mode', () => {
  const text = 'NAME="bj-opts"\nBACKUP_VMS="1,2,3"\nKEEP_LAST="2"\nMODE="increment"\nNAME="bj-opts2"\n';
  const t = Template.parse(text);
  assert.deepEqual(t.getAll('NAME').map((a) => a.kind === 'single' && a.value), ['bj-opts', 'bj-opts2']);
  assert.equal(t.get('NAME'), 'bj-opts');
  assert.equal(t.toXml(),
    `<TEMPLATE><BACKUP_VMS>${cd('1,2,3')}</BACKUP_VMS><KEEP_LAST>${cd('2')}</KEEP_LAST><MODE>${cd('increment')}</MODE>` +
    `<NAME>${cd('bj-opts')}</NAME><NAME>${cd('bj-opts2')}</NAME></TEMPLATE>`);

  const replaced = Template.parse(`${text}SA = [A=1]\nSA = [B=2]\n`, { replaceMode: true });
  assert.deepEqual(plain(replaced), [
    ['single', 'BACKUP_VMS', '1,2,3'], ['single', 'KEEP_LAST', '2'], ['single', 'MODE', 'increment'],
    ['single', 'NAME', 'bj-opts2'], ['vector', 'SA', { B: '2' }],
  ]);
});

test('goca, pyone flat-dict and CLI update forms', () => {
  const goca = Template.parse('NAME = "test-backupjob"\nBACKUP_VMS = "1,2,3"');
  assert.deepEqual(plain(goca), [['single', 'NAME', 'test-backupjob'], ['single', 'BACKUP_VMS', '1,2,3']]);
  assert.deepEqual(plain(Template.parse('BACKUP_VMS = "1,2,3,4"')), [['single', 'BACKUP_VMS', '1,2,3,4']]);
  assert.deepEqual(plain(Template.parse('SCHED_ACTION = [ REPEAT = "3", DAYS = "1", TIME = "1695478500" ]')),
    [['vector', 'SCHED_ACTION', { REPEAT: '3', DAYS: '1', TIME: '1695478500' }]]);
  assert.deepEqual(plain(Template.parse('SCHED_ACTION = [ DAYS = "5" ]')), [['vector', 'SCHED_ACTION', { DAYS: '5' }]]);
  assert.deepEqual(plain(Template.parse('NAME="py"\nBACKUP_VMS="4"\n')),
    [['single', 'NAME', 'py'], ['single', 'BACKUP_VMS', '4']]);
  assert.deepEqual(plain(Template.parse('BACKUP_VMS=""')), [['single', 'BACKUP_VMS', '']]);
  assert.deepEqual(plain(Template.parse('KEEP_LAST = "5"\nMODE = "increment"\n')),
    [['single', 'KEEP_LAST', '5'], ['single', 'MODE', 'increment']]);
});

test('comments, blank lines, multi-line vectors, empty values and empty vectors', () => {
  const t = Template.parse(`
# a comment line
   # an indented one

NAME = bj   # trailing comment
EMPTY =
EMPTY_VECTOR = []
DISK = [
  # inside a vector
  IMAGE_ID = 2,
  size = "1024" ,
  image_id = 3
]
`);
  assert.deepEqual(plain(t), [
    ['single', 'NAME', 'bj'],
    ['single', 'EMPTY', ''],
    ['vector', 'EMPTY_VECTOR', {}],
    // Sub-keys are upper-cased and a repeated one keeps its first value (std::map::insert).
    ['vector', 'DISK', { IMAGE_ID: '2', SIZE: '1024' }],
  ]);
  assert.equal(t.toXml(),
    `<TEMPLATE><DISK><IMAGE_ID>${cd('2')}</IMAGE_ID><SIZE>${cd('1024')}</SIZE></DISK>` +
    `<EMPTY>${cd('')}</EMPTY><EMPTY_VECTOR></EMPTY_VECTOR><NAME>${cd('bj')}</NAME></TEMPLATE>`);
  assertReparses(t);
});

test('values: trimmed, \\" unescaped, quoted strings may span lines', () => {
  const t = Template.parse('A = "  padded\t"\nB = "say \\"hi\\""\nC = "line1\nline2"\nD = a\\"b\nE = "ends\\"');
  assert.deepEqual(plain(t), [
    ['single', 'A', 'padded'],
    ['single', 'B', 'say "hi"'],
    ['single', 'C', 'line1\nline2'],
    ['single', 'D', 'a"b'],
    // No unescaped quote follows, so the quoted rule's longest match ends at the last quote: value `ends\`.
    ['single', 'E', 'ends\\'],
  ]);
  // Only C-locale white space is trimmed (a no-break space stays).
  assert.equal(Template.parse('A = "\u00a0x\u00a0"').get('A'), '\u00a0x\u00a0');
  assert.equal(Template.parse('A = "\u000b\fx\r"').get('A'), 'x');
});

test('attribute names: upper-cased, ONE_ prefix for a leading digit or a leading upper-case XML', () => {
  const t = Template.parse('name = 1\n1st = 2\nXMLrpc = 3\nxmlrpc = 4\n_private = 5');
  assert.deepEqual(t.attributes.map((a) => a.name), ['NAME', 'ONE_1ST', 'ONE_XMLRPC', 'XMLRPC', '_PRIVATE']);
  assert.equal(normalizeAttributeName('disk'), 'DISK');
  assert.equal(normalizeAttributeName('-x'), 'ONE_-X');
  assert.equal(normalizeAttributeName('ÉTÉ'), 'ONE_ÉTÉ'); // only ASCII letters count, and only they change case
});

test('scanner quirks oned really has', () => {
  // A bare value is [^=#[:blank:]\n,\[\]]+ and may contain quotes; flex prefers it when it is longer than the quoted
  // match, so text right after a closing quote, or a CR before LF, keeps the quotes in the value.
  assert.equal(Template.parse('A = "abc"def').get('A'), '"abc"def');
  assert.deepEqual(plain(Template.parse('NAME = "x"\r\nKEEP_LAST = 3\r\n')),
    [['single', 'NAME', '"x"'], ['single', 'KEEP_LAST', '3']]);
  // In the VALUE condition '#' and blanks match no rule and are skipped, so the comment becomes the value.
  assert.deepEqual(plain(Template.parse('A = # c\nB = 2\n')), [['single', 'A', 'c'], ['single', 'B', '2']]);
  // Two attributes on one line are fine.
  assert.deepEqual(plain(Template.parse('A = 1 B = "2"')), [['single', 'A', '1'], ['single', 'B', '2']]);
  // The scanner reads a C string: input stops at the first NUL.
  assert.deepEqual(plain(Template.parse('A = 1\0B = 2')), [['single', 'A', '1']]);
});

test('empty input, white space and comments only parse to an empty template', () => {
  for (const text of ['', ' ', '\n\n', '# only a comment\n', '  \t\n# c\n\n']) {
    const t = Template.parse(text);
    assert.ok(t.isEmpty(), JSON.stringify(text));
    assert.equal(t.toXml(), '<TEMPLATE></TEMPLATE>');
    assert.equal(t.toText(), '');
  }
});

// ------------------------------------------------------------------------------------------------ syntax errors
//
// Expected messages follow bison 3.4.1's tables for template_syntax.y (yytname: $end, EQUAL, COMMA, OBRACKET,
// CBRACKET, EQUAL_EMPTY, CCDATA, STRING, VARIABLE). States with a default reduction never read a lookahead, so an
// unexpected token after a complete attribute is reported from the state after `template_file`, which only
// expects $end. Columns are YY_USER_ACTION's: they start at 1, every matched rule (blanks and skipped bytes too)
// moves first_column to the old last_column and adds its byte length, lines never reset them, and the end of input
// leaves them as the last rule set them.

test('syntax errors carry bison verbose messages and the scanner location', () => {
  // "A" = VARIABLE 1:2, then end of input in state 1 (after VARIABLE).
  assert.equal(parseError('A'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 1:2');
  // NAME 1:5, " = " 5:8, "\"x\"" 8:11, "\n" 11:12 (line 2), BACKUP_VMS 12:22, " " 22:23, "1" VARIABLE 23:24.
  assert.equal(parseError('NAME = "x"\nBACKUP_VMS 1,2'),
    'Parse error: syntax error, unexpected VARIABLE, expecting EQUAL or EQUAL_EMPTY at line 2, columns 23:24');
  // A 1:2, " = " EQUAL 2:5 enters VALUE; end of input in state 5.
  assert.equal(parseError('A = '),
    'Parse error: syntax error, unexpected $end, expecting OBRACKET or CCDATA or STRING at line 1, columns 2:5');
  // ... "[ " OBRACKET 5:7, B 7:8, " = " 8:11, "1" 11:12; state 14 wants COMMA or CBRACKET.
  assert.equal(parseError('A = [ B = 1'),
    'Parse error: syntax error, unexpected $end, expecting COMMA or CBRACKET at line 1, columns 11:12');
  // ... B 7:8, " ]" CBRACKET 8:10 where state 13 wants EQUAL.
  assert.equal(parseError('A = [ B ]'),
    'Parse error: syntax error, unexpected CBRACKET, expecting EQUAL at line 1, columns 8:10');
  // ... "1" 11:12, ", " COMMA 12:14, "]" CBRACKET 14:15 where state 16 wants VARIABLE.
  assert.equal(parseError('A = [ B = 1, ]'),
    'Parse error: syntax error, unexpected CBRACKET, expecting VARIABLE at line 1, columns 14:15');
  // "= " EQUAL 1:3; state 0 reduces the empty template_file by default, state 2 expects only $end.
  assert.equal(parseError('= 1'), 'Parse error: syntax error, unexpected EQUAL, expecting $end at line 1, columns 1:3');
  // A complete attribute then " = " 6:9: state 3 reduces by default, state 2 expects only $end.
  assert.equal(parseError('A = 1 = 2'),
    'Parse error: syntax error, unexpected EQUAL, expecting $end at line 1, columns 6:9');
  // "[ " OBRACKET 5:7 leaves VALUE, so "= " is EQUAL 7:9, in state 9 (after '[').
  assert.equal(parseError('A = [ = 1 ]'),
    'Parse error: syntax error, unexpected EQUAL, expecting CBRACKET or VARIABLE at line 1, columns 7:9');
  // B 7:8, " = " 8:11 enters VALUE, "[ " is OBRACKET 11:13 where state 15 wants STRING.
  assert.equal(parseError('A = [ B = [ ]'),
    'Parse error: syntax error, unexpected OBRACKET, expecting STRING at line 1, columns 11:13');
  // "1" 11:12, " " 12:13 (blank rule), C VARIABLE 13:14 where state 14 wants COMMA or CBRACKET.
  assert.equal(parseError('A = [ B = 1 C = 2 ]'),
    'Parse error: syntax error, unexpected VARIABLE, expecting COMMA or CBRACKET at line 1, columns 13:14');
  // "[ " 5:7, B 7:8, " =\n" is EQUAL_EMPTY 8:11 (line 2) where state 13 wants EQUAL: multi-line vectors cannot
  // hold an empty value.
  assert.equal(parseError('A = [ B =\n C = 1 ]'),
    'Parse error: syntax error, unexpected EQUAL_EMPTY, expecting EQUAL at line 2, columns 8:11');
});

test('error locations count lines, bytes and skipped characters like flex', () => {
  // NAME 1:5, " = " 5:8, "\"bj\"" 8:12, "\n\n" 12:14 (line 3), KEEP_LAST 14:23, "\n" 23:24 (line 4), end.
  assert.equal(parseError('NAME = "bj"\n\nKEEP_LAST\n'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 4, columns 23:24');
  // "\"é\"" is 4 bytes (5:9), so " " is 9:10 and B 10:11.
  assert.equal(parseError('A = "é" B'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 10:11');
  // A 1:2, " " 2:3, then é is two default-rule matches of one byte (3:4, 4:5) before the end.
  assert.equal(parseError('A é'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 4:5');
  // A comment needs its newline: at the end of input '#' is skipped (1:2), " " 2:3, c is a VARIABLE 3:4.
  assert.equal(parseError('# c'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 3:4');
  // Not XML unless '<' is the very first character: " " 1:2, '<' skipped 2:3, T 3:4, '/' 4:5, '>' 5:6.
  assert.equal(parseError(' <T/>'),
    'Parse error: syntax error, unexpected $end, expecting EQUAL or EQUAL_EMPTY at line 1, columns 5:6');
});

test('"]]>" in a value aborts with "Parse error." (or is a CCDATA token inside a vector line)', () => {
  assert.equal(parseError('A = x]]>'), 'Parse error.');
  assert.equal(parseError('A = "x]]>y"'), 'Parse error.');
  assert.equal(parseError('A = 1 # ]]>\n'), 'Parse error.');
  // On the line of '[', CCDATA (to the end of the line) is longer than OBRACKET, so the attribute itself aborts.
  assert.equal(parseError('A = [ B = "]]>" ]'), 'Parse error.');
  // On a later line it is the value of a vector pair, where state 15 wants STRING: V 1:2, " = " 2:5, "[\n " is
  // OBRACKET 5:8 (line 2), A 8:9, " = " 9:12, then CCDATA takes the rest of the line, `"]]>" ]`, 12:19.
  assert.equal(parseError('V = [\n A = "]]>" ]'),
    'Parse error: syntax error, unexpected CCDATA, expecting STRING at line 2, columns 12:19');
  // The rule cannot see past the first line of a quoted string, so this value is accepted.
  assert.equal(Template.parse('A = "x\n]]>"').get('A'), 'x\n]]>');
});

// ------------------------------------------------------------------------------------------------ XML syntax

test('pyone nested dicts arrive as XML with CDATA', () => {
  const xml = '<TEMPLATE><NAME><![CDATA[x]]></NAME><SCHED_ACTION><TIME><![CDATA[123]]></TIME></SCHED_ACTION></TEMPLATE>';
  const t = Template.parse(xml);
  assert.deepEqual(plain(t), [['single', 'NAME', 'x'], ['vector', 'SCHED_ACTION', { TIME: '123' }]]);
  assert.equal(t.toXml(), xml);
});

test('XML: root name ignored, pretty printing, references, sub-key case kept, last duplicate sub-key wins', () => {
  const t = Template.parse(`<?xml version="1.0" encoding="UTF-8"?>
<!-- before --><ANYTHING>
  <name>test_vm</name>
  <DISK>
    <IMAGE_ID>2</IMAGE_ID>
    <Image_Uname>oneadmin</Image_Uname>
    <IMAGE_ID>3</IMAGE_ID>
  </DISK>
  <ESCAPED>a&amp;b&lt;c&#xA;d&#x9;e&#34;f&#65;</ESCAPED>
  <BLANK>   </BLANK>
</ANYTHING><?pi after?>
`);
  assert.deepEqual(plain(t), [
    ['single', 'NAME', 'test_vm'],
    ['vector', 'DISK', { IMAGE_ID: '3', Image_Uname: 'oneadmin' }],
    ['single', 'ESCAPED', 'a&b<c\nd\te"fA'],
    ['single', 'BLANK', ''],
  ]);
  assert.equal(t.toXml(),
    `<TEMPLATE><BLANK>${cd('')}</BLANK><DISK><IMAGE_ID>${cd('3')}</IMAGE_ID><Image_Uname>${cd('oneadmin')}` +
    `</Image_Uname></DISK><ESCAPED>${cd('a&b<c\nd\te"fA')}</ESCAPED><NAME>${cd('test_vm')}</NAME></TEMPLATE>`);
});

test('XML: which elements become attributes (Template::rebuild_attributes)', () => {
  const t = Template.parse('<T>' +
    '<EMPTY/><EMPTY2></EMPTY2>' + // no child at all: dropped
    '<EMPTY_CDATA><![CDATA[]]></EMPTY_CDATA>' + // one (empty) CDATA child: kept as ""
    '<WRAPPED>\n<![CDATA[x]]>\n</WRAPPED>' + // three children, none an element: dropped
    '<MIXED>x<![CDATA[y]]></MIXED>' + // text then CDATA are two nodes: dropped
    '<SPLIT><![CDATA[a]]]]><![CDATA[>b]]></SPLIT>' + // adjacent CDATA sections are one node
    '<COMMENTED>x<!-- c --></COMMENTED>' + // a comment is a child too: dropped
    '<V><A>1<!--c-->2</A><B/><C><D>x</D></C><E>\n<![CDATA[e]]></E></V>' + // a sub-element's first child only
    '<NO_PAIRS><X/></NO_PAIRS>' + // element children but no usable one: an empty vector
    '<p:NS xmlns:p="urn:x">1</p:NS><q:UNBOUND>2</q:UNBOUND>' + // bound prefix dropped, unbound kept
    '</T>');
  assert.deepEqual(plain(t), [
    ['single', 'EMPTY_CDATA', ''],
    ['single', 'SPLIT', 'a]]>b'],
    ['vector', 'V', { A: '1', E: '' }],
    ['vector', 'NO_PAIRS', {}],
    ['single', 'NS', '1'],
    ['single', 'Q:UNBOUND', '2'],
  ]);
  assert.equal(t.toXml(),
    `<TEMPLATE><EMPTY_CDATA>${cd('')}</EMPTY_CDATA><NO_PAIRS></NO_PAIRS><NS>${cd('1')}</NS>` +
    `<Q:UNBOUND>${cd('2')}</Q:UNBOUND><SPLIT>${cd('a]]]]><![CDATA[>b')}</SPLIT>` +
    `<V><A>${cd('1')}</A><E>${cd('')}</E></V></TEMPLATE>`);
});

test('malformed XML is refused with oned\'s message', () => {
  const malformed = [
    '<T><A>x</A>', // unclosed root
    '<T><A>x</B></T>', // mismatched end tag
    '<!DOCTYPE T [<!ENTITY e "x">]><T>&e;</T>', // DOCTYPE refused: entities are never declared
    '<T><A>&e;</A></T>', // undeclared entity
    '<T><A>&#0;</A></T>', // not an XML character
    '<T><A>a & b</A></T>', // bare ampersand
    '<T/>text', // content after the root
    '<T/><U/>', // two roots
    '<T><A>x]]>y</A></T>', // "]]>" in character data
    '<T><A>\u0001</A></T>', // control character
    '<T a="1" a="2"/>', // duplicate attribute
    '<T a="<"/>', // '<' in an attribute value
    '<T><!-- a -- b --></T>', // "--" inside a comment
    '<T><?xml version="1.0"?></T>', // XML declaration not at the start
    '<?xml encoding="UTF-8"?><T/>', // declaration without version
    '<!-- no root -->',
    '<',
    `${'<A>'.repeat(300)}${'</A>'.repeat(300)}`, // deeper than libxml2's default limit
  ];
  for (const xml of malformed) assert.equal(parseError(xml), 'Parse error: XML Template malformed.', xml);
});

// ------------------------------------------------------------------------------------------------ rendering

test('toXml sorts names by bytes (stable), sub-keys too; root and extra are the caller\'s', () => {
  const t = new Template([
    { kind: 'single', name: 'BACKUP_VMS', value: '1' },
    { kind: 'single', name: 'BACKUPS', value: '2' },
    { kind: 'vector', name: 'V', value: new Map([['b', '1'], ['A', '2'], ['', 'skipped']]) },
    { kind: 'single', name: 'A', value: 'first' },
    { kind: 'single', name: 'A', value: 'second' },
  ]);
  assert.equal(t.toXml('USER_TEMPLATE', '<SCHED_ACTION><ID>0</ID></SCHED_ACTION>'),
    `<USER_TEMPLATE><A>${cd('first')}</A><A>${cd('second')}</A><BACKUPS>${cd('2')}</BACKUPS>` +
    `<BACKUP_VMS>${cd('1')}</BACKUP_VMS><V><A>${cd('2')}</A><b>${cd('1')}</b></V>` +
    '<SCHED_ACTION><ID>0</ID></SCHED_ACTION></USER_TEMPLATE>');
  // UTF-8 byte order puts U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80); UTF-16 order would not.
  const wide = Template.parse('<T><\u{1F600}>1</\u{1F600}><\uFF21>2</\uFF21></T>');
  assert.equal(wide.toXml(), `<TEMPLATE><ONE_\uFF21>${cd('2')}</ONE_\uFF21><ONE_\u{1F600}>${cd('1')}</ONE_\u{1F600}></TEMPLATE>`);
});

test('escapeCdata splits "]]>" so the value reads back unchanged', () => {
  assert.equal(escapeCdata('plain'), 'plain');
  assert.equal(escapeCdata('a]]>b]]>'), 'a]]]]><![CDATA[>b]]]]><![CDATA[>');
  const t = Template.parse('<T><A>x]]&gt;y</A><V><S>]]&gt;</S></V></T>');
  assert.equal(t.get('A'), 'x]]>y');
  assert.equal(t.toXml(), `<TEMPLATE><A>${cd('x]]]]><![CDATA[>y')}</A><V><S>${cd(']]]]><![CDATA[>')}</S></V></TEMPLATE>`);
  assert.deepEqual(plain(Template.parse(t.toXml())), plain(t));
});

test('toText is the CLI\'s K="V" form and re-parses to the same template', () => {
  const shown = Template.parse('<TEMPLATE><BACKUP_VMS><![CDATA[]]></BACKUP_VMS><BACKUP_VOLATILE><![CDATA[NO]]>' +
    '</BACKUP_VOLATILE><EXECUTION><![CDATA[SEQUENTIAL]]></EXECUTION><FS_FREEZE><![CDATA[NONE]]></FS_FREEZE>' +
    '<KEEP_LAST><![CDATA[3]]></KEEP_LAST><MODE><![CDATA[FULL]]></MODE></TEMPLATE>');
  // As `onebackupjob show` prints TEMPLATE CONTENTS in the 7.4 trace.
  assert.equal(shown.toText(),
    'BACKUP_VMS=""\nBACKUP_VOLATILE="NO"\nEXECUTION="SEQUENTIAL"\nFS_FREEZE="NONE"\nKEEP_LAST="3"\nMODE="FULL"');
  assertReparses(shown);

  const vectors = Template.parse('SA = [ TIME = 1, DAYS = "1,5" ]\nE = []');
  assert.equal(vectors.toText(), 'E=[ ]\nSA=[\n  DAYS="1,5",\n  TIME="1" ]');
  assertReparses(vectors);
});

test('toText round-trips values the scanner finds awkward', () => {
  const t = new Template([
    { kind: 'single', name: 'A_BACKSLASH', value: 'ends with \\' },
    { kind: 'single', name: 'B_QUOTES', value: 'say "hi" and \\"raw\\"' },
    { kind: 'single', name: 'C_LINES', value: 'one\ntwo "2"\nthree' },
    { kind: 'single', name: 'D_CDATA', value: 'x]]>y' },
    { kind: 'single', name: 'E_CDATA_LATER', value: 'x\n]]>' },
    { kind: 'single', name: 'F_EMPTY', value: '' },
    { kind: 'single', name: 'G_SYMBOLS', value: '= # , [ ] \t<>' },
    { kind: 'vector', name: 'H_VECTOR', value: new Map([['Q', '"q"'], ['S', 'back\\'], ['T', 'a]]>b']]) },
    { kind: 'single', name: 'I_AFTER', value: '"last"' },
  ]);
  assertReparses(t);
  assertReparses(Template.parse(GUIDE_TEMPLATE));
});

// ------------------------------------------------------------------------------------------------ API and merge

test('get, getAll, getVectors, has, set, replace, add, erase, clone, isEmpty', () => {
  const t = Template.parse('DISK = [ ID = 1 ]\nDISK = "single"\nDISK = [ ID = 2 ]\nNAME = x');
  assert.equal(t.get('DISK'), 'single'); // the first SINGLE one
  assert.equal(t.get('disk'), undefined); // lookups take the stored (upper-case) name
  assert.equal(t.getAll('DISK').length, 3);
  assert.deepEqual(t.getVectors('DISK').map((v) => v.get('ID')), ['1', '2']);
  t.getVectors('DISK')[0].set('SIZE', '10'); // the maps are the template's own
  assert.equal(t.getVectors('DISK')[0].get('SIZE'), '10');
  assert.ok(t.has('NAME') && !t.has('MISSING'));

  t.set('name', 'y'); // appends, keeping the existing NAME
  assert.deepEqual(t.getAll('NAME').map((a) => a.kind === 'single' && a.value), ['x', 'y']);
  t.replace('NAME', 'z');
  assert.deepEqual(t.getAll('NAME').map((a) => a.kind === 'single' && a.value), ['z']);

  const added: Attribute = { kind: 'vector', name: 'nic', value: new Map([['IP', '1.1.1.1']]) };
  t.add(added);
  added.value.set('IP', 'changed'); // add copies
  assert.equal(t.getVectors('NIC')[0].get('IP'), '1.1.1.1');

  const copy = t.clone();
  const removed = t.erase('DISK');
  assert.equal(removed.length, 3);
  assert.ok(!t.has('DISK') && copy.has('DISK'));
  assert.equal(copy.getVectors('DISK')[0].get('SIZE'), '10');
  assert.deepEqual(t.erase('DISK'), []);

  assert.ok(new Template().isEmpty());
  assert.equal(new Template([{ kind: 'single', name: 'lower', value: 'v' }]).attributes[0].name, 'LOWER');
});

test('merge replaces whole attributes by name, keeps others, skips empty vectors', () => {
  const base = Template.parse('A = 1\nB = [ X = 1, Y = 2 ]\nC = 2\nC = 3\nD = [ K = v ]\nKEEP = yes');
  base.merge(Template.parse('C = 9\nB = [ Y = 5 ]\nD = []\nE = 5\nF = []'));
  assert.deepEqual(plain(base), [
    ['single', 'A', '1'], ['single', 'KEEP', 'yes'],
    ['single', 'C', '9'], ['vector', 'B', { Y: '5' }], ['single', 'E', '5'],
  ]); // D: erased because named in the update, not re-added because empty; F never added
  // The goca TestUpdate case: the key is replaced, not duplicated.
  const bj = Template.parse('NAME = "test-backupjob"\nBACKUP_VMS = "1,2,3"');
  bj.merge(Template.parse('BACKUP_VMS = "1,2,3,4"'));
  assert.deepEqual(bj.getAll('BACKUP_VMS').map((a) => a.kind === 'single' && a.value), ['1,2,3,4']);
});

test('merge and clone rebuild single attributes like Attribute::clone, re-normalizing their names', () => {
  const given = Template.parse('xmlrpc = 1\nxmlvec = [ A = 1 ]');
  assert.deepEqual(given.attributes.map((a) => a.name), ['XMLRPC', 'XMLVEC']);
  const merged = new Template();
  merged.merge(given);
  assert.deepEqual(merged.attributes.map((a) => a.name), ['ONE_XMLRPC', 'XMLVEC']);
  assert.deepEqual(given.clone().attributes.map((a) => a.name), ['ONE_XMLRPC', 'XMLVEC']);
});

// ------------------------------------------------------------------------------------------------ size

test('a 1 MB template parses (text: many lines and one long line; XML)', () => {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 1_000_000; i++) {
    const chunk = `ATTR_${i} = "value ${i} ${'x'.repeat(20)}"\nVEC_${i} = [ A = ${i}, B = "b" ]\n# comment\n`;
    lines.push(chunk);
    size += chunk.length;
  }
  assert.equal(Template.parse(lines.join('')).attributes.length, lines.length * 2);

  const pairs: string[] = [];
  size = 0;
  for (let i = 0; size < 1_000_000; i++) {
    pairs.push(`K${i} = "${i}"`);
    size += pairs[i].length + 2;
  }
  assert.equal(Template.parse(`V = [ ${pairs.join(', ')} ]`).getVectors('V')[0].size, pairs.length);

  const elements: string[] = [];
  size = 0;
  for (let i = 0; size < 1_000_000; i++) {
    elements.push(`<A_${i}><![CDATA[value ${i}]]></A_${i}>`);
    size += elements[i].length;
  }
  assert.equal(Template.parse(`<TEMPLATE>${elements.join('')}</TEMPLATE>`).attributes.length, elements.length);
});
