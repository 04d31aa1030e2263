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

function withoutBackupJobGaps(xml: string): string {
  return xml.replace(/<TEMPLATE>([\s\S]*?)<\/TEMPLATE><\/BACKUPJOB>/g, (_all, content: string) => {
    const kept = topLevelChildren(content).filter(([name]) => UPSTREAM_BACKUPJOB_TEMPLATE.has(name)).map(([, text]) => text);
    return `<TEMPLATE>${kept.join('')}</TEMPLATE></BACKUPJOB>`;
  });
}

interface SequenceNode { element?: Array<{ '@name'?: string; complexType?: { sequence?: SequenceNode } }> }

const sequenceCache = new Map<string, string[]>();

/** The element names of the sequence reached by following `path` through nested element declarations. */
function sequenceNames(schema: XMLFileInfo, path: readonly string[]): string[] {
  const key = `${schema.fileName}:${path.join('/')}`;
  const cached = sequenceCache.get(key);
  if (cached !== undefined) return cached;
  const parsed = schemaParser.parse(schema.contents as string) as { schema?: SequenceNode };
  let node: SequenceNode | undefined = parsed.schema;
  for (const name of path) {
    node = node?.element?.find((element) => element['@name'] === name)?.complexType?.sequence;
  }
  const names = (node?.element ?? []).map((element) => element['@name']);
  if (names.length === 0 || names.some((name) => name === undefined)) {
    throw new Error(`${schema.fileName} has no plain sequence at ${path.join('/')}`);
  }
  sequenceCache.set(key, names as string[]);
  return names as string[];
}

/**
 * The children of `content` without those named in `dropped`, sorted by their place in `order` (stable for repeated
 * names); children `order` does not know go last, so that the XSD still reports them.
 */
function inSequenceOrder(content: string, order: readonly string[], dropped: ReadonlySet<string>): string[] {
  const place = new Map(order.map((name, index) => [name, index]));
  return topLevelChildren(content)
    .filter(([name]) => !dropped.has(name))
    .map(([name, text], index) => ({ rank: place.get(name) ?? order.length, index, text }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ text }) => text);
}

/** What oned writes in a VM and OpenNebula's vm.xsd does not declare. */
const UPSTREAM_VM_TEMPLATE_GAPS = new Set(['CPU_MODEL']);
const UPSTREAM_BACKUP_CONFIG_GAPS = new Set(['ACTIVE_FLATTEN', 'LAST_BACKUP_FORMAT']);

/**
 * Where oned 7.4's VM documents and OpenNebula's vm.xsd (also used by vm_pool_extended.xsd) disagree:
 * - oned writes TEMPLATE children sorted by name; the XSD declares another sequence (GRAPHICS after
 *   HYPERV_OPTIONS, VIDEO before IMPORTED, MEMORY_ENCRYPTION after TPM, …). The upstream copy gets them in
 *   the XSD's order, without CPU_MODEL (moved there by allocate and updateconf), which the XSD does not declare.
 * - the XSD requires TEMPLATE/TM_MAD_SYSTEM, which oned only sets on the first deploy: a VM that was never
 *   placed gets an empty one in the upstream copy.
 * - BACKUP_CONFIG may hold ACTIVE_FLATTEN and LAST_BACKUP_FORMAT, which the XSD does not list: dropped.
 * Everything else is checked by the upstream XSD as oned wrote it; our own schema checks it all.
 */
function withoutVmGaps(xml: string, upstreamVm: XMLFileInfo): string {
  const templateOrder = sequenceNames(upstreamVm, ['VM', 'TEMPLATE']);
  const backupConfigOrder = sequenceNames(upstreamVm, ['VM', 'BACKUPS', 'BACKUP_CONFIG']);
  const placeholder = '<TM_MAD_SYSTEM></TM_MAD_SYSTEM>';
  return xml
    .replace(/<TEMPLATE>([\s\S]*?)<\/TEMPLATE><USER_TEMPLATE/g, (_all, content: string) => {
      const hasTmMadSystem = topLevelChildren(content).some(([name]) => name === 'TM_MAD_SYSTEM');
      const children = inSequenceOrder(hasTmMadSystem ? content : content + placeholder, templateOrder, UPSTREAM_VM_TEMPLATE_GAPS);
      return `<TEMPLATE>${children.join('')}</TEMPLATE><USER_TEMPLATE`;
    })
    .replace(/<BACKUP_CONFIG>([\s\S]*?)<\/BACKUP_CONFIG>/g, (_all, content: string) =>
      `<BACKUP_CONFIG>${inSequenceOrder(content, backupConfigOrder, UPSTREAM_BACKUP_CONFIG_GAPS).join('')}</BACKUP_CONFIG>`);
}

/**
 * The copy of `xml` checked against OpenNebula's `schemaFile`: only what that XSD cannot describe is changed
 * (see withoutBackupJobGaps and withoutVmGaps).
 */
async function withoutUpstreamGaps(xml: string, schemaFile: string): Promise<string> {
  switch (schemaFile) {
    case 'backupjob.xsd':
    case 'backupjob_pool.xsd':
      return withoutBackupJobGaps(xml);
    case 'vm.xsd':
    case 'vm_pool_extended.xsd': {
      const upstreamVm = (await loadFolder(OPENNEBULA_SCHEMA_DIR)).files.get('vm.xsd');
      if (upstreamVm === undefined) throw new Error(`No schema vm.xsd in ${OPENNEBULA_SCHEMA_DIR}`);
      return withoutVmGaps(xml, upstreamVm);
    }
    default:
      return xml;
  }
}

/**
 * Validates against our schema/<schemaFile> and, when OpenNebula's XSD folder exists,
 * against its file of the same name; throws one Error listing the violations of both.
 */
export async function validateDocument(xml: string, schemaFile: string): Promise<void> {
  const checks: Array<Promise<string[]>> = [violations(xml, OUR_SCHEMA_DIR, schemaFile)];
  const labels = [`schema/${schemaFile}`];
  if (openNebulaSchemasAvailable()) {
    checks.push(withoutUpstreamGaps(xml, schemaFile).then((copy) => violations(copy, OPENNEBULA_SCHEMA_DIR, schemaFile)));
    labels.push(`OpenNebula's ${schemaFile}`);
  }
  const results = await Promise.all(checks);
  const problems = results.flatMap((found, index) => found.map((line) => `[${labels[index]}] ${line}`));
  report('document does not validate', problems);
}
