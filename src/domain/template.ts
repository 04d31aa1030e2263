/**
 * OpenNebula's template language as oned 7.4 parses and prints it (include/Template.h, src/template/Template.cc,
 * include/Attribute.h, src/parsers/template_parser.l, src/parsers/template_syntax.y). Pure: no I/O.
 *
 * Two input syntaxes, chosen by the first character (Template::parse_str_or_xml):
 *  - '<'  → an XML document; libxml2's tree is mapped to attributes by Template::rebuild_attributes;
 *  - else → the text syntax `NAME = value`, `NAME = "quoted"`, `NAME = [ A = x, B = "y" ]`, `# comments`,
 *           scanned here exactly as the flex scanner does (longest match, rule order on ties, byte columns) and
 *           parsed following the LALR automaton bison 3.4.1 generated for template_syntax.y, so that syntax errors
 *           carry bison's verbose message and the lexer's location bookkeeping.
 */

export type Attribute =
  | { kind: 'single'; name: string; value: string }
  | { kind: 'vector'; name: string; value: Map<string, string> };

/** A template that oned would refuse; `message` is oned's text (what follows the `[method] ` prefix). */
export class TemplateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParseError';
  }
}

export interface ParseOptions {
  /**
   * oned's Template(replace_mode = true): a later attribute replaces every earlier one with the same name, so only
   * the last occurrence of each name survives. oned parses update texts this way for backup jobs and users
   * (BackupJob::get_new_template, UserTemplate); allocate and most other objects keep every occurrence.
   */
  replaceMode?: boolean;
}

const SYNTAX_ABORT_MESSAGE = 'Parse error.';
const XML_MALFORMED_MESSAGE = 'Parse error: XML Template malformed.';

// ---------------------------------------------------------------------------------------------------------------
// Names, values and ordering as oned's C++ sees them (bytes, C locale)
// ---------------------------------------------------------------------------------------------------------------

/** std::toupper in the C locale: only ASCII letters change. */
function asciiUpper(text: string): string {
  return /[a-z]/.test(text) ? text.replace(/[a-z]+/g, (run) => run.toUpperCase()) : text;
}

const isAsciiLetter = (code: number) => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);

/**
 * The name an attribute gets from oned's Attribute constructor: upper-cased, and prefixed with ONE_ when the given
 * name does not start with an ASCII letter or '_' or starts with an upper-case "XML" (the check looks at the name
 * as given, so "xmlrpc" becomes "XMLRPC" unprefixed). Not idempotent, exactly like oned: "XMLRPC" → "ONE_XMLRPC".
 */
export function normalizeAttributeName(given: string): string {
  const upper = asciiUpper(given);
  if (given.length === 0) return upper;
  const first = given.charCodeAt(0);
  const badStart = !(isAsciiLetter(first) || first === 0x5f);
  return badStart || given.startsWith('XML') ? `ONE_${upper}` : upper;
}

/** isspace() in the C locale. */
const isCSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

/** one_util::trim: strips C-locale whitespace only (not NBSP or other Unicode spaces, which String.trim would). */
function trimCSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isCSpace(text.charCodeAt(start))) start++;
  while (end > start && isCSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * std::string ordering (unsigned bytes of UTF-8), which is what std::multimap/std::map sort by. UTF-16 code-unit
 * order agrees with it except between surrogates and U+E000..U+FFFF, hence the remapping.
 */
function compareBytewise(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function utf8Width(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint > 0xffff ? 4 : 3;
}

/**
 * How to write a value inside `<![CDATA[ … ]]>` so that it reads back unchanged: each "]]>" is split across two
 * CDATA sections. oned itself wraps the raw value (one_util::escape_xml) and so emits malformed XML for such
 * values, which it can hold (a multi-line quoted string or an XML `]]&gt;`); splitting keeps our XML well formed
 * and identical to oned's for every other value.
 */
export function escapeCdata(value: string): string {
  return value.includes(']]>') ? value.replaceAll(']]>', ']]]]><![CDATA[>') : value;
}

// ---------------------------------------------------------------------------------------------------------------
// Text syntax: the flex scanner (template_parser.l)
// ---------------------------------------------------------------------------------------------------------------

/** Token names as bison's yytname prints them. */
type TokenKind = '$end' | 'EQUAL' | 'COMMA' | 'OBRACKET' | 'CBRACKET' | 'EQUAL_EMPTY' | 'CCDATA' | 'STRING' | 'VARIABLE';

interface Token {
  kind: TokenKind;
  text: string;
}

const END_TOKEN: Token = { kind: '$end', text: '' };

const CHAR_TAB = 0x09;
const CHAR_NEWLINE = 0x0a;
const CHAR_SPACE = 0x20;
const CHAR_QUOTE = 0x22;
const CHAR_HASH = 0x23;
const CHAR_COMMA = 0x2c;
const CHAR_EQUALS = 0x3d;
const CHAR_LBRACKET = 0x5b;
const CHAR_BACKSLASH = 0x5c;
const CHAR_RBRACKET = 0x5d;

const isBlank = (code: number) => code === CHAR_SPACE || code === CHAR_TAB; // [[:blank:]]
const isBlankOrNewline = (code: number) => isBlank(code) || code === CHAR_NEWLINE;
/** [[:alnum:]_] in the C locale. */
const isWordChar = (code: number) =>
  isAsciiLetter(code) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
/** The unquoted value class [^=#[:blank:]\n,\[\]]: anything else, including '"', '\r' and non-ASCII. */
const isBareValueChar = (code: number) =>
  !(code === CHAR_EQUALS || code === CHAR_HASH || isBlankOrNewline(code) || code === CHAR_COMMA ||
    code === CHAR_LBRACKET || code === CHAR_RBRACKET);

/**
 * The scanner, rule for rule. Flex picks the longest match, earlier rule on a tie; unmatched bytes fall to flex's
 * default rule, which echoes them (to oned's stdout) and so silently skips them. Location bookkeeping is
 * YY_USER_ACTION's: every matched rule (skipped ones too) sets first_line to yylineno, first_column to the previous
 * last_column and adds its length in bytes to last_column; columns never restart on a new line, and reaching the
 * end of input leaves the location untouched. yylineno counts the newlines of rules flex marks as able to match
 * one (not the default rule nor CCDATA/STRING/VARIABLE/EQUAL).
 */
class TextScanner {
  private pos = 0;
  /** Flex start condition VALUE (entered after EQUAL, left after a value or '['). */
  private inValue = false;
  private line = 1;
  /** YYLTYPE as the parser reads it for the lookahead; bison 3.4 starts it at {1, 1, 1, 1}. */
  firstLine = 1;
  firstColumn = 1;
  lastColumn = 1;

  private readonly lastNewline: number;
  /** Cached index of the next '\n' at or after the scan position (input length when there is none). */
  private nextNewline = -1;
  /** Start indices of every "]]>", for the CCDATA rule; walked with a cursor since the position only grows. */
  private readonly cdataEnds: number[] = [];
  private cdataCursor = 0;

  constructor(private readonly src: string) {
    this.lastNewline = src.lastIndexOf('\n');
    for (let at = src.indexOf(']]>'); at !== -1; at = src.indexOf(']]>', at + 1)) this.cdataEnds.push(at);
  }

  next(): Token {
    while (this.pos < this.src.length) {
      const token = this.inValue ? this.scanValue() : this.scanInitial();
      if (token) return token;
    }
    return END_TOKEN;
  }

  /** Rules of the INITIAL condition; returns null for rules without a token (comments, blanks, skipped bytes). */
  private scanInitial(): Token | null {
    const src = this.src;
    const start = this.pos;
    let blanksEnd = start;
    while (blanksEnd < src.length && isBlank(src.charCodeAt(blanksEnd))) blanksEnd++;
    const afterBlanks = src.charCodeAt(blanksEnd);

    // [[:blank:]]*#.*\n — needs a newline, so a comment on the last line without one is not a comment.
    if (afterBlanks === CHAR_HASH && blanksEnd < this.lastNewline) {
      this.consume(src.indexOf('\n', blanksEnd) + 1, true);
      return null;
    }
    // [[:blank:]]*=[[:blank:]]*\n is EQUAL_EMPTY (longer, so it beats EQUAL); EQUAL enters VALUE.
    if (afterBlanks === CHAR_EQUALS) {
      let end = blanksEnd + 1;
      while (end < src.length && isBlank(src.charCodeAt(end))) end++;
      if (src.charCodeAt(end) === CHAR_NEWLINE) {
        this.consume(end + 1, true);
        return { kind: 'EQUAL_EMPTY', text: '' };
      }
      this.consume(end, false);
      this.inValue = true;
      return { kind: 'EQUAL', text: '' };
    }
    let spaceEnd = blanksEnd;
    while (spaceEnd < src.length && isBlankOrNewline(src.charCodeAt(spaceEnd))) spaceEnd++;
    const afterSpace = src.charCodeAt(spaceEnd);
    // [[:blank:]\n]*,[[:blank:]\n]* and the same around ']'.
    if (afterSpace === CHAR_COMMA || afterSpace === CHAR_RBRACKET) {
      let end = spaceEnd + 1;
      while (end < src.length && isBlankOrNewline(src.charCodeAt(end))) end++;
      this.consume(end, true);
      return { kind: afterSpace === CHAR_COMMA ? 'COMMA' : 'CBRACKET', text: '' };
    }
    if (spaceEnd > start) {
      this.consume(spaceEnd, true);
      return null;
    }
    if (isWordChar(src.charCodeAt(start))) {
      let end = start + 1;
      while (end < src.length && isWordChar(src.charCodeAt(end))) end++;
      const text = src.slice(start, end);
      this.consume(end, false);
      return { kind: 'VARIABLE', text };
    }
    this.skipUnmatched();
    return null;
  }

  /** Rules of the VALUE condition, in rule order: OBRACKET, CCDATA, quoted STRING, bare STRING. */
  private scanValue(): Token | null {
    const src = this.src;
    const start = this.pos;
    let bestEnd = start;
    let best: 'OBRACKET' | 'CCDATA' | 'QUOTED' | 'BARE' | null = null;

    let blanksEnd = start;
    while (blanksEnd < src.length && isBlank(src.charCodeAt(blanksEnd))) blanksEnd++;
    if (src.charCodeAt(blanksEnd) === CHAR_LBRACKET) {
      let end = blanksEnd + 1;
      while (end < src.length && isBlankOrNewline(src.charCodeAt(end))) end++;
      bestEnd = end;
      best = 'OBRACKET';
    }
    // .*\]\]\>.* — matches to the end of the line whenever the rest of the line holds "]]>".
    const lineEnd = this.lineEndFrom(start);
    if (this.cdataEndWithin(start, lineEnd) && lineEnd > bestEnd) {
      bestEnd = lineEnd;
      best = 'CCDATA';
    }
    if (src.charCodeAt(start) === CHAR_QUOTE) {
      const end = this.quotedEnd(start);
      if (end > bestEnd) {
        bestEnd = end;
        best = 'QUOTED';
      }
    }
    let bareEnd = start;
    while (bareEnd < src.length && isBareValueChar(src.charCodeAt(bareEnd))) bareEnd++;
    if (bareEnd > bestEnd) {
      bestEnd = bareEnd;
      best = 'BARE';
    }

    switch (best) {
      case null:
        this.skipUnmatched();
        return null;
      case 'OBRACKET':
        this.consume(bestEnd, true);
        this.inValue = false;
        return { kind: 'OBRACKET', text: '' };
      case 'CCDATA':
        this.consume(bestEnd, false);
        this.inValue = false;
        return { kind: 'CCDATA', text: '' };
      case 'QUOTED': {
        const text = src.slice(start + 1, bestEnd - 1);
        this.consume(bestEnd, true);
        this.inValue = false;
        return { kind: 'STRING', text };
      }
      case 'BARE': {
        const text = src.slice(start, bestEnd);
        this.consume(bestEnd, false);
        this.inValue = false;
        return { kind: 'STRING', text };
      }
    }
  }

  /**
   * End (exclusive) of the longest match of \"([^\"]|\\\")*\" at `open`, or -1. Any '"' preceded by a backslash may
   * continue the string, so the match ends at the first quote that is not, or else at the last quote of the input.
   */
  private quotedEnd(open: number): number {
    const src = this.src;
    let lastQuote = -1;
    for (let at = src.indexOf('"', open + 1); at !== -1; at = src.indexOf('"', at + 1)) {
      if (src.charCodeAt(at - 1) !== CHAR_BACKSLASH) return at + 1;
      lastQuote = at;
    }
    return lastQuote === -1 ? -1 : lastQuote + 1;
  }

  private lineEndFrom(at: number): number {
    if (this.nextNewline < at) {
      const newline = this.src.indexOf('\n', at);
      this.nextNewline = newline === -1 ? this.src.length : newline;
    }
    return this.nextNewline;
  }

  private cdataEndWithin(from: number, lineEnd: number): boolean {
    while (this.cdataCursor < this.cdataEnds.length && this.cdataEnds[this.cdataCursor] < from) this.cdataCursor++;
    return this.cdataCursor < this.cdataEnds.length && this.cdataEnds[this.cdataCursor] + 3 <= lineEnd;
  }

  /** A matched rule: yylineno first (if the rule can match a newline), then YY_USER_ACTION. */
  private consume(end: number, countsLines: boolean): void {
    const src = this.src;
    let bytes = 0;
    for (let i = this.pos; i < end; i++) {
      const code = src.charCodeAt(i);
      if (code < 0x80) {
        bytes += 1;
        if (code === CHAR_NEWLINE && countsLines) this.line++;
      } else if (code < 0x800) {
        bytes += 2;
      } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < end && (src.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    this.firstLine = this.line;
    this.firstColumn = this.lastColumn;
    this.lastColumn += bytes;
    this.pos = end;
  }

  /** Flex's default rule takes one byte at a time; a multi-byte character is that many one-byte matches. */
  private skipUnmatched(): void {
    const codePoint = this.src.codePointAt(this.pos) as number;
    const bytes = utf8Width(codePoint);
    this.firstLine = this.line;
    this.firstColumn = this.lastColumn + bytes - 1;
    this.lastColumn += bytes;
    this.pos += codePoint > 0xffff ? 2 : 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Text syntax: the grammar (template_syntax.y) as bison's automaton runs it
// ---------------------------------------------------------------------------------------------------------------

/** The template_syntax.y action `unescape`: every \" becomes ", left to right. */
const unescapeQuotes = (text: string) => (text.includes('\\"') ? text.replaceAll('\\"', '"') : text);

/**
 * Bison's verbose message for an unexpected lookahead in a state whose expected tokens are `expected` (in token
 * number order), located where the scanner left YYLTYPE; Template::parse_str_or_xml prefixes "Parse error: ".
 */
function syntaxError(token: Token, expected: readonly TokenKind[], scanner: TextScanner): TemplateParseError {
  const expecting = expected.length > 0 ? `, expecting ${expected.join(' or ')}` : '';
  return new TemplateParseError(
    `Parse error: syntax error, unexpected ${token.kind}${expecting} at line ${scanner.firstLine}, ` +
      `columns ${scanner.firstColumn}:${scanner.lastColumn}`);
}

/**
 * Recursive descent that reads a lookahead exactly where bison's LALR automaton does (states with a default
 * reduction reduce without one) and reports each error with the token set of the state bison detects it in:
 *   states 0/3 (before an attribute) reduce by default to state 2, which only expects $end;
 *   state 1 (after VARIABLE) EQUAL or EQUAL_EMPTY; state 5 (after EQUAL) OBRACKET or CCDATA or STRING;
 *   state 9 (after '[') CBRACKET or VARIABLE; states 13/19 (vector key) EQUAL; states 15/20 (vector '=') STRING;
 *   state 14 (after a vector pair) COMMA or CBRACKET; state 16 (after ',') VARIABLE.
 * `attribute: VARIABLE EQUAL CCDATA` runs YYABORT, which leaves no message: "Parse error.".
 */
function parseTextSyntax(src: string): Attribute[] {
  const scanner = new TextScanner(src);
  const attributes: Attribute[] = [];
  for (;;) {
    let token = scanner.next();
    if (token.kind === '$end') return attributes;
    if (token.kind !== 'VARIABLE') throw syntaxError(token, ['$end'], scanner);
    const name = normalizeAttributeName(token.text);

    token = scanner.next();
    if (token.kind === 'EQUAL_EMPTY') {
      attributes.push({ kind: 'single', name, value: '' });
      continue;
    }
    if (token.kind !== 'EQUAL') throw syntaxError(token, ['EQUAL', 'EQUAL_EMPTY'], scanner);

    token = scanner.next();
    if (token.kind === 'STRING') {
      attributes.push({ kind: 'single', name, value: unescapeQuotes(token.text) });
      continue;
    }
    if (token.kind === 'CCDATA') throw new TemplateParseError(SYNTAX_ABORT_MESSAGE);
    if (token.kind !== 'OBRACKET') throw syntaxError(token, ['OBRACKET', 'CCDATA', 'STRING'], scanner);

    const pairs = new Map<string, string>();
    token = scanner.next();
    if (token.kind !== 'CBRACKET') {
      if (token.kind !== 'VARIABLE') throw syntaxError(token, ['CBRACKET', 'VARIABLE'], scanner);
      for (;;) {
        const key = asciiUpper(token.text);
        token = scanner.next();
        if (token.kind !== 'EQUAL') throw syntaxError(token, ['EQUAL'], scanner);
        token = scanner.next();
        if (token.kind !== 'STRING') throw syntaxError(token, ['STRING'], scanner);
        // std::map::insert keeps the first value of a repeated key.
        if (!pairs.has(key)) pairs.set(key, unescapeQuotes(token.text));
        token = scanner.next();
        if (token.kind === 'CBRACKET') break;
        if (token.kind !== 'COMMA') throw syntaxError(token, ['COMMA', 'CBRACKET'], scanner);
        token = scanner.next();
        if (token.kind !== 'VARIABLE') throw syntaxError(token, ['VARIABLE'], scanner);
      }
    }
    attributes.push({ kind: 'vector', name, value: pairs });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// XML syntax: a strict reader standing in for libxml2's xmlParseMemory, then Template::rebuild_attributes
// ---------------------------------------------------------------------------------------------------------------

type XmlNode =
  | { kind: 'element'; name: string; children: XmlNode[] }
  | { kind: 'text' | 'cdata'; value: string }
  | { kind: 'other' }; // comments and processing instructions: they count as children but carry no value

type XmlElement = Extract<XmlNode, { kind: 'element' }>;

class XmlMalformed extends Error {}

const NAME_START_RANGES =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const XML_NAME = new RegExp(`[${NAME_START_RANGES}][${NAME_START_RANGES}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*`, 'uy');
const XML_INVALID_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const quotedXmlValue = (pattern: string) => `(?:"${pattern}"|'${pattern}')`;
const XML_DECLARATION = new RegExp(
  '<\\?xml' +
  `[ \\t\\n]+version[ \\t\\n]*=[ \\t\\n]*${quotedXmlValue('1\\.[0-9]+')}` +
  `(?:[ \\t\\n]+encoding[ \\t\\n]*=[ \\t\\n]*${quotedXmlValue('[A-Za-z][A-Za-z0-9._-]*')})?` +
  `(?:[ \\t\\n]+standalone[ \\t\\n]*=[ \\t\\n]*${quotedXmlValue('(?:yes|no)')})?` +
  '[ \\t\\n]*\\?>',
  'y');
/** libxml2's default nesting limit (xmlParserMaxDepth) without XML_PARSE_HUGE. */
const XML_MAX_DEPTH = 256;
const PREDEFINED_ENTITIES = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);

const isXmlSpace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
const isXmlChar = (cp: number) =>
  cp === 0x09 || cp === 0x0a || cp === 0x0d || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
  (cp >= 0x10000 && cp <= 0x10ffff);

/**
 * Builds the node tree libxml2 would for a well-formed document and throws XmlMalformed where it would return no
 * document. As in libxml2's SAX2 tree builder, adjacent text (with its references resolved) is one text node,
 * adjacent CDATA sections are one CDATA node, and blank text is kept. Deliberately stricter than libxml2: a
 * DOCTYPE is refused, so no entity is ever declared or expanded.
 */
class XmlReader {
  private at = 0;
  private readonly src: string;

  constructor(text: string) {
    // XML end-of-line handling happens before parsing; character references can still produce '\r'.
    this.src = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  }

  readDocument(): XmlElement {
    if (XML_INVALID_CHAR.test(this.src)) this.fail();
    if (this.src.startsWith('<?xml') && isXmlSpace(this.src.charCodeAt(5))) {
      XML_DECLARATION.lastIndex = 0;
      if (!XML_DECLARATION.test(this.src)) this.fail();
      this.at = XML_DECLARATION.lastIndex;
    }
    this.skipMisc();
    if (!this.src.startsWith('<', this.at)) this.fail();
    const root = this.readElement();
    this.skipMisc();
    if (this.at !== this.src.length) this.fail();
    return root;
  }

  private fail(): never {
    throw new XmlMalformed();
  }

  /** Comments, processing instructions and white space outside the root element. */
  private skipMisc(): void {
    const src = this.src;
    for (;;) {
      while (this.at < src.length && isXmlSpace(src.charCodeAt(this.at))) this.at++;
      if (src.startsWith('<!--', this.at)) this.readComment();
      else if (src.startsWith('<?', this.at)) this.readProcessingInstruction();
      else return;
    }
  }

  private readComment(): void {
    const close = this.src.indexOf('--', this.at + 4);
    if (close === -1 || this.src.charCodeAt(close + 2) !== 0x3e) this.fail();
    this.at = close + 3;
  }

  private readProcessingInstruction(): void {
    this.at += 2;
    const target = this.readName();
    // Any target spelled xml (any case) is reserved; the declaration itself is only allowed at offset 0.
    if (target.toLowerCase() === 'xml') this.fail();
    const close = this.src.indexOf('?>', this.at);
    if (close === -1) this.fail();
    if (close > this.at && !isXmlSpace(this.src.charCodeAt(this.at))) this.fail();
    this.at = close + 2;
  }

  private readName(): string {
    XML_NAME.lastIndex = this.at;
    const match = XML_NAME.exec(this.src);
    if (!match) this.fail();
    this.at = XML_NAME.lastIndex;
    return match[0];
  }

  private skipSpace(): boolean {
    const before = this.at;
    while (this.at < this.src.length && isXmlSpace(this.src.charCodeAt(this.at))) this.at++;
    return this.at > before;
  }

  /** Resolves character and predefined entity references; anything else is an undeclared entity (fatal). */
  private resolveReferences(raw: string): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', from)) {
      const semicolon = raw.indexOf(';', amp + 1);
      if (semicolon === -1) this.fail();
      out += raw.slice(from, amp) + this.resolveReference(raw.slice(amp + 1, semicolon));
      from = semicolon + 1;
    }
    return out + raw.slice(from);
  }

  private resolveReference(ref: string): string {
    const predefined = PREDEFINED_ENTITIES.get(ref);
    if (predefined !== undefined) return predefined;
    let codePoint = NaN;
    if (/^#x[0-9a-fA-F]+$/.test(ref)) codePoint = parseInt(ref.slice(2), 16);
    else if (/^#[0-9]+$/.test(ref)) codePoint = parseInt(ref.slice(1), 10);
    if (!isXmlChar(codePoint)) this.fail();
    return String.fromCodePoint(codePoint);
  }

  /** Reads attributes up to '>' or '/>'; returns the namespace prefixes they declare. */
  private readAttributes(): string[] {
    const src = this.src;
    const seen = new Set<string>();
    const declared: string[] = [];
    for (;;) {
      const spaced = this.skipSpace();
      const code = src.charCodeAt(this.at);
      if (code === 0x3e || (code === 0x2f && src.charCodeAt(this.at + 1) === 0x3e)) return declared;
      if (!spaced) this.fail();
      const name = this.readName();
      if (seen.has(name)) this.fail();
      seen.add(name);
      this.skipSpace();
      if (src.charCodeAt(this.at) !== CHAR_EQUALS) this.fail();
      this.at++;
      this.skipSpace();
      const quote = src[this.at];
      if (quote !== '"' && quote !== "'") this.fail();
      const close = src.indexOf(quote, this.at + 1);
      if (close === -1) this.fail();
      const raw = src.slice(this.at + 1, close);
      if (raw.includes('<')) this.fail();
      this.resolveReferences(raw);
      this.at = close + 1;
      if (name.startsWith('xmlns:')) declared.push(name.slice(6));
    }
  }

  /** libxml2 names a node by its local name when its prefix is bound, by the whole QName otherwise. */
  private static nodeName(qname: string, prefixes: ReadonlySet<string>): string {
    const colon = qname.indexOf(':');
    if (colon <= 0) return qname;
    const prefix = qname.slice(0, colon);
    return prefix === 'xml' || prefixes.has(prefix) ? qname.slice(colon + 1) : qname;
  }

  /** Iterative, so that nesting depth never reaches the JavaScript stack. */
  private readElement(): XmlElement {
    const src = this.src;
    interface Open { qname: string; node: XmlElement; prefixes: ReadonlySet<string> }
    const stack: Open[] = [];
    let root: XmlElement | undefined;

    const openElement = () => {
      this.at++; // '<'
      const qname = this.readName();
      const declared = this.readAttributes();
      const parentPrefixes = stack.length > 0 ? stack[stack.length - 1].prefixes : new Set<string>();
      const prefixes = declared.length > 0 ? new Set([...parentPrefixes, ...declared]) : parentPrefixes;
      const node: XmlElement = { kind: 'element', name: XmlReader.nodeName(qname, prefixes), children: [] };
      if (stack.length > 0) stack[stack.length - 1].node.children.push(node);
      else root = node;
      if (src.charCodeAt(this.at) === 0x2f) {
        this.at += 2; // '/>'
        return;
      }
      this.at++; // '>'
      if (stack.length >= XML_MAX_DEPTH) this.fail();
      stack.push({ qname, node, prefixes });
    };

    const appendCharacters = (kind: 'text' | 'cdata', value: string) => {
      const children = stack[stack.length - 1].node.children;
      const last = children[children.length - 1];
      if (last !== undefined && last.kind === kind) last.value += value;
      else children.push({ kind, value });
    };

    openElement();
    while (stack.length > 0) {
      if (this.at >= src.length) this.fail();
      if (src.charCodeAt(this.at) !== 0x3c) {
        const lt = src.indexOf('<', this.at);
        const end = lt === -1 ? src.length : lt;
        const raw = src.slice(this.at, end);
        if (raw.includes(']]>')) this.fail();
        appendCharacters('text', this.resolveReferences(raw));
        this.at = end;
      } else if (src.startsWith('</', this.at)) {
        this.at += 2;
        const qname = this.readName();
        this.skipSpace();
        if (src.charCodeAt(this.at) !== 0x3e || qname !== stack[stack.length - 1].qname) this.fail();
        this.at++;
        stack.pop();
      } else if (src.startsWith('<![CDATA[', this.at)) {
        const close = src.indexOf(']]>', this.at + 9);
        if (close === -1) this.fail();
        appendCharacters('cdata', src.slice(this.at + 9, close));
        this.at = close + 3;
      } else if (src.startsWith('<!--', this.at)) {
        this.readComment();
        stack[stack.length - 1].node.children.push({ kind: 'other' });
      } else if (src.startsWith('<?', this.at)) {
        this.readProcessingInstruction();
        stack[stack.length - 1].node.children.push({ kind: 'other' });
      } else if (src.startsWith('<!', this.at)) {
        this.fail();
      } else {
        openElement();
      }
    }
    return root as XmlElement;
  }
}

const characterData = (node: XmlNode | undefined) =>
  node !== undefined && (node.kind === 'text' || node.kind === 'cdata') ? node.value : undefined;

/**
 * Template::rebuild_attributes: each element child of the root becomes a single attribute when its only child is
 * text or CDATA, else a vector attribute when it has element children (a sub-element counts when its first child
 * is text or CDATA, later duplicates overwrite, sub-keys keep their case); anything else is dropped.
 */
function parseXmlSyntax(text: string): Attribute[] {
  let root: XmlElement;
  try {
    root = new XmlReader(text).readDocument();
  } catch (err) {
    if (err instanceof XmlMalformed) throw new TemplateParseError(XML_MALFORMED_MESSAGE);
    throw err;
  }
  const attributes: Attribute[] = [];
  for (const child of root.children) {
    if (child.kind !== 'element') continue;
    const only = child.children.length === 1 ? characterData(child.children[0]) : undefined;
    if (only !== undefined) {
      attributes.push({ kind: 'single', name: normalizeAttributeName(child.name), value: only });
      continue;
    }
    if (!child.children.some((node) => node.kind === 'element')) continue;
    const pairs = new Map<string, string>();
    for (const sub of child.children) {
      if (sub.kind !== 'element') continue;
      const value = characterData(sub.children[0]);
      if (value !== undefined) pairs.set(sub.name, value);
    }
    attributes.push({ kind: 'vector', name: normalizeAttributeName(child.name), value: pairs });
  }
  return attributes;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

const sortedEntries = (pairs: Map<string, string>) =>
  [...pairs].filter(([key]) => key !== '').sort(([a], [b]) => compareBytewise(a, b));

function attributeXml(attr: Attribute): string {
  if (attr.kind === 'single') return `<${attr.name}><![CDATA[${escapeCdata(attr.value)}]]></${attr.name}>`;
  let xml = `<${attr.name}>`;
  for (const [key, value] of sortedEntries(attr.value)) xml += `<${key}><![CDATA[${escapeCdata(value)}]]></${key}>`;
  return `${xml}</${attr.name}>`;
}

/**
 * A value in the Ruby CLI's "K=\"V\"" form (quotes escaped as \"), adjusted so the scanner reads it back: a
 * trailing backslash would escape the closing quote, and "]]>" on the token's first line would make the CCDATA
 * rule win, so a newline is added there; the trimming every parse applies removes it again.
 */
function quoteTextValue(value: string): string {
  let body = value.replaceAll('"', '\\"');
  const firstLineEnd = body.indexOf('\n');
  if ((firstLineEnd === -1 ? body : body.slice(0, firstLineEnd)).includes(']]>')) body = `\n${body}`;
  if (body.endsWith('\\')) body += '\n';
  return `"${body}"`;
}

function attributeText(attr: Attribute): string {
  if (attr.kind === 'single') return `${attr.name}=${quoteTextValue(attr.value)}`;
  const pairs = sortedEntries(attr.value);
  if (pairs.length === 0) return `${attr.name}=[ ]`;
  return `${attr.name}=[\n${pairs.map(([key, value]) => `  ${key}=${quoteTextValue(value)}`).join(',\n')} ]`;
}

const copyAttribute = (attr: Attribute): Attribute =>
  attr.kind === 'single' ? { ...attr } : { kind: 'vector', name: attr.name, value: new Map(attr.value) };

/**
 * Attribute::clone as oned does it: a single attribute is rebuilt through the Attribute constructor (so its name is
 * normalized once more), a vector attribute is copied verbatim.
 */
const cloneAttribute = (attr: Attribute): Attribute =>
  attr.kind === 'single'
    ? { kind: 'single', name: normalizeAttributeName(attr.name), value: attr.value }
    : { kind: 'vector', name: attr.name, value: new Map(attr.value) };

// ---------------------------------------------------------------------------------------------------------------
// Template
// ---------------------------------------------------------------------------------------------------------------

/**
 * oned's Template: a multimap of attributes. `attributes` keeps insertion order; renderings sort by name in byte
 * order, stably, which is exactly the multimap's order (equal names stay in insertion order). Lookups take the
 * name as stored (upper case), like oned's get/erase.
 */
export class Template {
  readonly attributes: Attribute[] = [];

  /** Names are normalized as oned's Attribute constructor does (see normalizeAttributeName); values are copied. */
  constructor(attributes: Attribute[] = []) {
    for (const attr of attributes) this.add(attr);
  }

  /**
   * Template::parse_str_or_xml: XML when the first character is '<', the text syntax otherwise; every value is then
   * trimmed of C-locale white space. Throws TemplateParseError with oned's message.
   */
  static parse(text: string, options: ParseOptions = {}): Template {
    // The text scanner reads a C string, so it stops at the first NUL; libxml2 gets the full length.
    const parsed = text.charCodeAt(0) === 0x3c
      ? parseXmlSyntax(text)
      : parseTextSyntax(text.includes('\0') ? text.slice(0, text.indexOf('\0')) : text);
    const kept = options.replaceMode ? keepLastOfEachName(parsed) : parsed;
    const template = new Template();
    for (const attr of kept) {
      if (attr.kind === 'single') attr.value = trimCSpace(attr.value);
      else for (const [key, value] of attr.value) attr.value.set(key, trimCSpace(value));
      template.attributes.push(attr);
    }
    return template;
  }

  /** The first single attribute with this name; vectors of that name are skipped (they read as absent). */
  get(name: string): string | undefined {
    for (const attr of this.attributes) if (attr.name === name && attr.kind === 'single') return attr.value;
    return undefined;
  }

  /** Every attribute with this name, single or vector, in order; the objects are the template's own. */
  getAll(name: string): Attribute[] {
    return this.attributes.filter((attr) => attr.name === name);
  }

  /** The value maps of every vector attribute with this name; mutating them changes the template. */
  getVectors(name: string): Array<Map<string, string>> {
    const vectors: Array<Map<string, string>> = [];
    for (const attr of this.attributes) if (attr.name === name && attr.kind === 'vector') vectors.push(attr.value);
    return vectors;
  }

  has(name: string): boolean {
    return this.attributes.some((attr) => attr.name === name);
  }

  /** Template::add: appends a single attribute, keeping any existing ones of that name. */
  set(name: string, value: string): void {
    this.attributes.push({ kind: 'single', name: normalizeAttributeName(name), value });
  }

  /** Template::replace: drops every attribute of that name, then adds one single attribute. */
  replace(name: string, value: string): void {
    const normalized = normalizeAttributeName(name);
    this.erase(normalized);
    this.attributes.push({ kind: 'single', name: normalized, value });
  }

  /** Template::set(Attribute*): appends a copy of `attr`, its name normalized. */
  add(attr: Attribute): void {
    const copy = copyAttribute(attr);
    copy.name = normalizeAttributeName(attr.name);
    this.attributes.push(copy);
  }

  /** Removes every attribute with this name and returns them in order. */
  erase(name: string): Attribute[] {
    const removed: Attribute[] = [];
    let kept = 0;
    for (const attr of this.attributes) {
      if (attr.name === name) removed.push(attr);
      else this.attributes[kept++] = attr;
    }
    this.attributes.length = kept;
    return removed;
  }

  /**
   * Template::merge: every name present in `other` first loses all its attributes here, then other's attributes of
   * that name are added (cloned; vectors wholesale, not key by key); empty vectors are not added.
   */
  merge(other: Template): void {
    const names = new Set(other.attributes.map((attr) => attr.name));
    let kept = 0;
    for (const attr of this.attributes) if (!names.has(attr.name)) this.attributes[kept++] = attr;
    this.attributes.length = kept;
    for (const attr of other.attributes) {
      if (attr.kind === 'vector' && attr.value.size === 0) continue;
      this.attributes.push(cloneAttribute(attr));
    }
  }

  /** oned's Template copy constructor (each attribute cloned as Attribute::clone does). */
  clone(): Template {
    const copy = new Template();
    for (const attr of this.attributes) copy.attributes.push(cloneAttribute(attr));
    return copy;
  }

  isEmpty(): boolean {
    return this.attributes.length === 0;
  }

  /**
   * Template::to_xml: `<ROOT>` + attributes sorted by name, values in CDATA, vector sub-keys sorted (empty sub-keys
   * skipped) + `extra` (oned appends e.g. SCHED_ACTION elements there) + `</ROOT>`; `<TEMPLATE></TEMPLATE>` if empty.
   */
  toXml(root = 'TEMPLATE', extra = ''): string {
    let xml = `<${root}>`;
    for (const attr of this.sorted()) xml += attributeXml(attr);
    return `${xml}${extra}</${root}>`;
  }

  /**
   * The text form the Ruby CLI prints and sends back from its editor (template_like_str): `NAME="value"` lines and
   * `NAME=[\n  KEY="value",\n  KEY2="value" ]`, sorted like toXml, joined by newlines. Template.parse reads it back
   * to the same template whenever names are valid text-syntax names and values carry no edge white space (parsing
   * trims it). oned's own to_str (`NAME=value`, unquoted) does not re-parse, so it is not reproduced.
   */
  toText(): string {
    return this.sorted().map(attributeText).join('\n');
  }

  private sorted(): Attribute[] {
    return [...this.attributes].sort((a, b) => compareBytewise(a.name, b.name));
  }
}

/** With replace_mode each Template::set erases the earlier attributes of its name, so only the last one remains. */
function keepLastOfEachName(attributes: Attribute[]): Attribute[] {
  const seen = new Set<string>();
  const kept: Attribute[] = [];
  for (let i = attributes.length - 1; i >= 0; i--) {
    if (seen.has(attributes[i].name)) continue;
    seen.add(attributes[i].name);
    kept.push(attributes[i]);
  }
  return kept.reverse();
}
