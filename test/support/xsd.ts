/**
 * XSD validation of the documents the server returns, for tests.
 *
 * Schemas are read from <project>/schema (ours) and, when it exists, from
 * <project>/../shared/xsd (OpenNebula's). Every .xsd of a folder is handed to xmllint,
 * so xs:include resolves inside that folder. Beyond what the schema says, the document
 * root must be one of the elements declared at the top level of the named schema file
 * itself: global declarations pulled in through xs:include only type content, and
 * would otherwise be accepted as roots.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';

// Compiled to dist/test/support/xsd.js: three levels up is the project root.
const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const OUR_SCHEMA_DIR = join(projectRoot, 'schema');
const OPENNEBULA_SCHEMA_DIR = join(projectRoot, '..', 'shared', 'xsd');

interface SchemaFolder {
  readonly files: ReadonlyMap<string, XMLFileInfo>;
}

interface SchemaFacts {
  readonly rootElements: readonly string[];
  readonly targetNamespace: string | undefined;
}

const folderCache = new Map<string, Promise<SchemaFolder>>();
const factsCache = new Map<string, SchemaFacts>();

function loadFolder(dir: string): Promise<SchemaFolder> {
  let pending = folderCache.get(dir);
  if (pending === undefined) {
    pending = readFolder(dir);
    folderCache.set(dir, pending);
    // A failed read must not poison later calls.
    pending.catch(() => folderCache.delete(dir));
  }
  return pending;
}

async function readFolder(dir: string): Promise<SchemaFolder> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.xsd')).sort();
  const files = new Map<string, XMLFileInfo>();
  for (const fileName of names) {
    files.set(fileName, { fileName, contents: await readFile(join(dir, fileName), 'utf8') });
  }
  return { files };
}

const schemaParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (tagName) => tagName === 'element',
});

function schemaFacts(dir: string, schema: XMLFileInfo): SchemaFacts {
  const cacheKey = join(dir, schema.fileName);
  const cached = factsCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const parsed = schemaParser.parse(schema.contents as string) as {
    schema?: { '@targetNamespace'?: string; element?: Array<{ '@name'?: string }> };
  };
  if (parsed.schema === undefined) {
    throw new Error(`${cacheKey} is not an XML Schema`);
  }
  const rootElements = (parsed.schema.element ?? [])
    .map((element) => element['@name'])
    .filter((name): name is string => typeof name === 'string');
  const facts = { rootElements, targetNamespace: parsed.schema['@targetNamespace'] };
  factsCache.set(cacheKey, facts);
  return facts;
}

// Skips an optional XML declaration, comments and blanks before the root start tag.
const ROOT_START_TAG = /^(\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*)<([A-Za-z_][\w.-]*)([^>]*)>/;

function rootElementName(xml: string): string | undefined {
  return ROOT_START_TAG.exec(xml)?.[2];
}

/**
 * oned's documents carry no namespace while OpenNebula's XSDs declare one with
 * qualified elements: put the document in that namespace as a default declaration.
 */
function inNamespace(xml: string, namespace: string): string {
  const match = ROOT_START_TAG.exec(xml);
  if (match === null || /\sxmlns\s*=/.test(match[3])) return xml;
  const [whole, prologue, name, rest] = match;
  const escaped = namespace.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `${prologue}<${name} xmlns="${escaped}"${rest}>${xml.slice(whole.length)}`;
}

/** Every violation of `xml` against `schemaFile` of `dir`; empty when valid. */
async function violations(xml: string, dir: string, schemaFile: string): Promise<string[]> {
  const folder = await loadFolder(dir);
  const schema = folder.files.get(schemaFile);
  if (schema === undefined) {
    throw new Error(`No schema ${schemaFile} in ${dir}`);
  }
  const facts = schemaFacts(dir, schema);
  const found: string[] = [];

  const root = rootElementName(xml);
  if (root === undefined) {
    found.push('document has no root element');
  } else if (!facts.rootElements.includes(root)) {
    found.push(`root element ${root} is not one of ${facts.rootElements.join(', ') || '(none)'}`);
  }

  const document = facts.targetNamespace === undefined ? xml : inNamespace(xml, facts.targetNamespace);
  const preload = [...folder.files.values()].filter((file) => file !== schema);
  try {
    const result = await validateXML({
      xml: [{ fileName: 'document.xml', contents: document }],
      schema: [schema],
      preload,
    });
    if (!result.valid) {
      const messages = result.errors.map((error) => error.rawMessage).filter((line) => line.trim() !== '');
      found.push(...(messages.length > 0 ? messages : [result.rawOutput.trim()]));
    }
  } catch (error) {
    // xmllint exits abnormally on malformed XML or an uncompilable schema.
    found.push(error instanceof Error ? error.message.trim() : String(error));
  }
  return found;
}

function report(label: string, problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new Error(`${label}:\n  ${problems.join('\n  ')}`);
  }
}

/** Whether OpenNebula's XSD folder is present, i.e. whether validateDocument checks against it too. */
export function openNebulaSchemasAvailable(): boolean {
  return existsSync(OPENNEBULA_SCHEMA_DIR);
}

/** Validates against our schema/<schemaFile>; throws an Error listing every violation. */
export async function validateXml(xml: string, schemaFile: string): Promise<void> {
  report(`document does not validate against schema/${schemaFile}`, await violations(xml, OUR_SCHEMA_DIR, schemaFile));
}

/**
 * Where oned 7.4's real output and its own XSDs disagree (api.md §4.5): backupjob.xsd lists a closed set of
 * TEMPLATE children, while oned also writes INCREMENT_MODE and keeps any user attribute. Those children are
 * left out of the copy checked against OpenNebula's XSD; our own schema checks them all.
 */
const UPSTREAM_BACKUPJOB_TEMPLATE = new Set(['BACKUP_VMS', 'BACKUP_VOLATILE', 'DATASTORE_ID', 'DISK_IDS', 'ERROR',
  'EXECUTION', 'FS_FREEZE', 'KEEP_LAST', 'MODE', 'RESET', 'SCHED_ACTION']);

/** The top-level child elements of an element's content, as [name, text] pairs. */
function topLevelChildren(content: string): Array<[string, string]> {
  const children: Array<[string, string]> = [];
  let i = 0;
  while (i < content.length) {
    const open = /^<([A-Za-z_][\w.-]*)>/.exec(content.slice(i));
    if (!open) throw new Error(`unexpected content in TEMPLATE at ${content.slice(i, i + 40)}`);
    const name = open[1];
    let depth = 0;
    let j = i;
    const tag = new RegExp(`<(/?)${name}>`, 'g');
    tag.lastIndex = i;
    for (let m = tag.exec(content); m; m = tag.exec(content)) {
      depth += m[1] === '/' ? -1 : 1;
      if (depth === 0) { j = m.index + m[0].length; break; }
    }
    if (depth !== 0) throw new Error(`unclosed ${name} in TEMPLATE`);
    children.push([name, content.slice(i, j)]);
    i = j;
  }
  return children;
}

function withoutUpstreamGaps(xml: string, schemaFile: string): string {
  if (schemaFile !== 'backupjob.xsd' && schemaFile !== 'backupjob_pool.xsd') return xml;
  return xml.replace(/<TEMPLATE>([\s\S]*?)<\/TEMPLATE><\/BACKUPJOB>/g, (_all, content: string) => {
    const kept = topLevelChildren(content).filter(([name]) => UPSTREAM_BACKUPJOB_TEMPLATE.has(name)).map(([, text]) => text);
    return `<TEMPLATE>${kept.join('')}</TEMPLATE></BACKUPJOB>`;
  });
}

/**
 * Validates against our schema/<schemaFile> and, when OpenNebula's XSD folder exists,
 * against its file of the same name; throws one Error listing the violations of both.
 */
export async function validateDocument(xml: string, schemaFile: string): Promise<void> {
  const checks: Array<Promise<string[]>> = [violations(xml, OUR_SCHEMA_DIR, schemaFile)];
  const labels = [`schema/${schemaFile}`];
  if (openNebulaSchemasAvailable()) {
    checks.push(violations(withoutUpstreamGaps(xml, schemaFile), OPENNEBULA_SCHEMA_DIR, schemaFile));
    labels.push(`OpenNebula's ${schemaFile}`);
  }
  const results = await Promise.all(checks);
  const problems = results.flatMap((found, index) => found.map((line) => `[${labels[index]}] ${line}`));
  report('document does not validate', problems);
}
