// Manifest text → documents (issue 9): the YAML is split at document markers and read per
// document by js-yaml, with the `yaml` library for what js-yaml rejects or might read differently.
// The result must be exactly what the `yaml` library alone gave before: same values, same
// document numbers, same diagnostics. `yamlOnly` below is that previous implementation, verbatim.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { parseManifests } from '../../../src/config/index.js';
import { boundSyntaxErrors, parseManifestDocuments, parseManifestText, type RawDocument } from '../../../src/config/documents.js';
import type { ConfigDiagnostic } from '../../../src/config/diagnostics.js';
import type { SourceItem } from '../../../src/engine/events.js';
import { fixture } from './_fixtures.js';

// ------------------------------------------------------------------------------------------------
// The oracle: parseManifestText before issue 9, as items in document order.

function syntaxError(file: string, document: number, rule: string, message: string): ConfigDiagnostic {
  return { severity: 'error', file, document, kind: '', name: '', path: '', rule, message };
}

/** The previous implementation, with the one intended change: syntax errors bounded (boundSyntaxErrors, issue 13). */
const yamlOnly = (text: string, file: string): SourceItem[] => [...boundSyntaxErrors(yamlOnlyUnbounded(text, file))];

function yamlOnlyUnbounded(text: string, file: string): SourceItem[] {
  const items: SourceItem[] = [];
  if (/\.json$/i.test(file)) {
    if (text.trim() === '') return items;
    try {
      items.push({ loc: { file, document: 1, prefix: [] }, value: JSON.parse(text) as unknown });
    } catch (e) {
      items.push({ error: syntaxError(file, 1, 'json-syntax', `invalid JSON: ${e instanceof Error ? e.message : String(e)}`) });
    }
    return items;
  }
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const index = i + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const firstLine = (err.message.split('\n')[0] ?? err.message).replace(/:$/, '');
        items.push({ error: syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${firstLine}`) });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      items.push({ error: syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${e instanceof Error ? e.message : String(e)}`) });
      return;
    }
    if (value === null || value === undefined) return;
    items.push({ loc: { file, document: index, prefix: [] }, value });
  });
  return items;
}

const itemsOf = (text: string, file = 'f.yaml'): SourceItem[] => [...parseManifestDocuments(text, file)];

/** The `yaml` library warns (process warning) on collection keys; the oracle triggers it on purpose. */
process.removeAllListeners('warning');

// ------------------------------------------------------------------------------------------------
// Splitting: document markers, empty documents, BOM, CRLF, directives, content on a marker line.

interface Row {
  title: string;
  text: string;
  /** [document number, value] of every document read, when the row pins them down. */
  documents?: [number, unknown][];
  /** [document number, message] of every error, when the row pins them down. */
  errors?: [number, string | RegExp][];
}

const rows: Row[] = [
  { title: 'empty text', text: '', documents: [] },
  { title: 'blank lines and a comment only', text: '\n  \n# c\n', documents: [] },
  { title: 'one document', text: 'a: 1\n', documents: [[1, { a: 1 }]] },
  { title: 'a leading --- starts document 1', text: '---\na: 1\n', documents: [[1, { a: 1 }]] },
  { title: 'comments before the first ---', text: '# c\n\n---\na: 1\n', documents: [[1, { a: 1 }]] },
  { title: 'a trailing --- is an empty document 2', text: 'a: 1\n---\n', documents: [[1, { a: 1 }]] },
  { title: 'no newline at the end', text: 'a: 1\n---\nb: 2', documents: [[1, { a: 1 }], [2, { b: 2 }]] },
  { title: 'empty documents are counted', text: 'a: 1\n---\n# only a comment\n---\n---\nnull\n---\n~\n---\nb: 1\n', documents: [[1, { a: 1 }], [6, { b: 1 }]] },
  { title: '... ends a document', text: 'a: 1\n...\nb: 2\n', documents: [[1, { a: 1 }], [2, { b: 2 }]] },
  { title: '... then ---', text: 'a: 1\n...\n---\nb: 2\n', documents: [[1, { a: 1 }], [2, { b: 2 }]] },
  { title: '... with no document open is an empty document', text: 'a: 1\n...\n...\nb: 1\n', documents: [[1, { a: 1 }], [3, { b: 1 }]] },
  { title: '... and --- with comments', text: 'a: 1\n... # end\n--- # next\nb: 1\n', documents: [[1, { a: 1 }], [2, { b: 1 }]] },
  { title: '--- followed by a tab', text: 'a: 1\n---\t\nb: 1\n', documents: [[1, { a: 1 }], [2, { b: 1 }]] },
  { title: '---x is not a marker', text: 'a: 1\n---x\n', errors: [[1, /Implicit map keys/]] },
  { title: 'an indented --- is not a marker', text: 'a: |\n  ---\n  x\n' , documents: [[1, { a: '---\nx\n' }]] },
  { title: 'a marker ends a block scalar', text: 'a: |\n  x\n---\n  y\n', documents: [[1, { a: 'x\n' }], [2, 'y']] },
  { title: 'keep chomping up to the marker', text: 'a: |+\n  x\n\n\n---\nb: 1\n', documents: [[1, { a: 'x\n\n\n' }], [2, { b: 1 }]] },
  { title: 'BOM at the start', text: '\uFEFFa: 1\n---\nb: 2\n', documents: [[1, { a: 1 }], [2, { b: 2 }]] },
  { title: 'BOM then ---', text: '\uFEFF---\na: 1\n', documents: [[1, { a: 1 }]] },
  { title: 'BOM after ... (yaml library alone)', text: 'a: 1\n...\n\uFEFF---\nb: 1\n' },
  { title: 'CRLF', text: 'a: 1\r\n---\r\nb: |\r\n  x\r\n  y\r\n...\r\n---\r\nc: 2\r\n', documents: [[1, { a: 1 }], [2, { b: 'x\ny\n' }], [3, { c: 2 }]] },
  { title: 'lone CR (yaml library alone)', text: 'a: 1\rb: 2\n---\nc: 3\n' },
  { title: '%YAML 1.2 before ---', text: '%YAML 1.2\n---\na: 1\n---\nb: 2\n', documents: [[1, { a: 1 }], [2, { b: 2 }]] },
  { title: '%YAML 1.2 after ...', text: 'a: 1\n...\n%YAML 1.2\n---\nb: 1\n', documents: [[1, { a: 1 }], [2, { b: 1 }]] },
  { title: '%YAML 1.1 holds for the documents after it', text: 'x: yes\n...\n%YAML 1.1\n---\na: yes\n---\nb: on\n', documents: [[1, { x: 'yes' }], [2, { a: true }], [3, { b: true }]] },
  { title: '%TAG holds for one document', text: '%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n---\nb: 2\n' },
  { title: 'a directive without ---', text: '%YAML 1.2\na: 1\n', errors: [[1, /Missing directives-end/]] },
  { title: 'a directive inside a document', text: 'a: 1\n%YAML 1.2\n---\nb: 1\n', errors: [[1, /directive indicator/], [1, /Implicit map keys/]] },
  { title: 'directives and nothing else', text: '%YAML 1.2\n', documents: [] },
  { title: 'content after --- (a scalar)', text: 'a: 1\n--- text\n---\n--- "quoted"\n', documents: [[1, { a: 1 }], [2, 'text'], [4, 'quoted']] },
  { title: 'content after --- (a block scalar)', text: '--- |\n  text\n---\nb: 2\n', documents: [[1, 'text\n'], [2, { b: 2 }]] },
  { title: 'content after --- (a folded scalar)', text: '--- >\n  folded\n  text\n', documents: [[1, 'folded text\n']] },
  { title: 'a mapping after --- is an error', text: 'x: 1\n--- a: 1\n', errors: [[2, /Block collection cannot start on same line with directives-end marker at line 2, column 5/]] },
  { title: 'content after ...', text: 'a: 1\n... x\nb: 2\n' },
  // Errors: the `yaml` library's words and lines, relative to the whole file.
  { title: 'syntax error in document 2', text: 'a: 1\n---\nb: [1\n---\nc: 1\n', documents: [[1, { a: 1 }], [3, { c: 1 }]], errors: [[2, 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 4, column 1']] },
  { title: 'duplicate key', text: 'a: 1\n---\nk: 1\nk: 2\n', errors: [[2, 'invalid YAML: Map keys must be unique at line 4, column 1']] },
  { title: 'duplicate key, different scalar forms', text: '1: a\n0x1: b\n', errors: [[1, /Map keys must be unique/]] },
  { title: 'an empty item closing a compact sequence', text: '- - a\n  - # c\n- b\n', documents: [[1, [['a', null], 'b']]] },
  { title: 'an empty item, nested', text: 'k:\n- - - a\n    -\n  - b\n- c\n', documents: [[1, { k: [[['a', null], 'b'], 'c'] }]] },
  { title: 'keys 1 and "1" are two keys for yaml', text: "1: a\n'1': b\n", documents: [[1, { 1: 'b' }]] },
  { title: 'unterminated quote closed in a later document', text: 'a: "x\n---\ny"\n' },
  { title: 'unterminated quote takes the rest of the file', text: 'a: 1\n---\nb: "unterminated\n---\nc: 1\n' },
  { title: 'an error token goes to the document before', text: 'a: 1\n---\n]e\n---\n-k: {}\n' },
  { title: 'a tag glued to a quote', text: '!"nul"": true\n---\ntrue\n' },
  { title: 'a block scalar header at stream level', text: '19851 #380>\n\n|- %YAxML 1.2\n---\n>' },
  { title: 'missed line breaks shift later lines', text: "- - no\n  - nu{\n  - --- x\n--'\n{}\n---\nspec: {}\n\"{x}\": {}#\"a\\nb\": null\n" },
  { title: 'alias bomb', text: 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n', errors: [[1, /alias/i]] },
  { title: 'anchors and aliases', text: 'a: &x [1, 2]\nb: *x\n', documents: [[1, { a: [1, 2], b: [1, 2] }]] },
  { title: 'explicit tags', text: 'a: !!str 1\nb: !!int "2"\n', documents: [[1, { a: '1', b: 2 }]] },
  // Values: js-yaml's own CORE_SCHEMA would read some of these differently.
  { title: 'YAML 1.2 core scalars', text: 'a: [0o17, 0x1F, -0x1, 0b11, +12, 012, 1_000, 1e3, .5, 1., -.inf, .NaN, 2001-12-14, 12:30, yes, No, on, ~, Null, TRUE]\n', documents: [[1, { a: [15, 31, '-0x1', '0b11', 12, 12, '1_000', 1000, 0.5, 1, -Infinity, NaN, '2001-12-14', '12:30', 'yes', 'No', 'on', null, null, true] }]] },
  { title: 'the same, block style', text: 'a: 0o17\nb: -0x1\nc: 0b11\nd: 2001-12-14\ne: yes\nf: 1e3\ng: -0\n', documents: [[1, { a: 15, b: '-0x1', c: '0b11', d: '2001-12-14', e: 'yes', f: 1000, g: -0 }]] },
  { title: 'null and empty keys', text: 'null: 1\n~: 2\n', errors: [[1, /unique/]] },
  { title: 'a null key', text: 'a: 1\nnull: 2\n', documents: [[1, { a: 1, '': 2 }]] },
  { title: 'an empty collection as a key', text: '[]: 1\n', documents: [[1, { '[]': 1 }]] },
  { title: 'a complex key', text: '? [a, b]\n: 1\n' },
  { title: '__proto__ is a key', text: '__proto__: 1\n' },
  { title: 'a comment glued to a quote', text: 'a: "b"#c\n', errors: [[1, /Comments must be separated/]] },
  { title: 'a multi-line quoted scalar not indented enough', text: 'k:\n  a: "x\n"\n' },
  { title: 'a multi-line quoted scalar', text: 'k:\n  a: "x\n    y"\n  b: \'p\n\n    q\'\n', documents: [[1, { k: { a: 'x y', b: 'p\nq' } }]] },
  { title: 'block scalar with an indentation indicator', text: '---\n|1-\n  "-,\n' },
  { title: 'block scalar with more-indented empty lines first', text: '|-\n \n# c\n---\n1\n' },
  { title: 'tabs', text: 'a:\t1\nb: x\ty\n- c\n' },
  { title: 'an implicit key longer than 1024', text: `${'k'.repeat(1100)}: 1\n` },
  { title: 'a long value is fine', text: `a: ${'v'.repeat(1100)}\n`, documents: [[1, { a: 'v'.repeat(1100) }]] },
  { title: 'a list document', text: '- 1\n- 2\n', documents: [[1, [1, 2]]] },
  { title: 'escapes', text: 'x: "\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\a\\t\\/"\ny: "a\\\n  b"\n' },
];

for (const row of rows) {
  test(`split: ${row.title}`, (t) => {
    const items = itemsOf(row.text);
    t.deepEqual(items, yamlOnly(row.text, 'f.yaml'));
    if (row.documents) t.deepEqual(items.filter((i): i is RawDocument => !('error' in i)).map((d) => [d.loc.document, d.value]), row.documents);
    const errors = items.flatMap((i) => ('error' in i ? [i.error] : []));
    if (row.errors) {
      t.is(errors.length, row.errors.length, JSON.stringify(errors));
      row.errors.forEach(([document, message], k) => {
        t.is(errors[k]!.document, document);
        t.is(errors[k]!.rule, 'yaml-syntax');
        if (typeof message === 'string') t.is(errors[k]!.message, message);
        else t.regex(errors[k]!.message, message);
      });
    } else if (row.documents) {
      t.deepEqual(errors, []);
    }
  });
}

test('parseManifestText: the same documents and errors, split', (t) => {
  const text = 'a: 1\n---\nb: [1\n---\nc: 2\n';
  const items = yamlOnly(text, 'f.yaml');
  t.deepEqual(parseManifestText(text, 'f.yaml'), {
    documents: items.filter((i): i is RawDocument => !('error' in i)),
    errors: items.flatMap((i) => ('error' in i ? [i.error] : [])),
  });
});

test('json: one document, its syntax error, nothing for blank text', (t) => {
  t.deepEqual(itemsOf('{"kind": "IPPool", "spec": {"cidr": "10.0.0.0/8"}}', 'p.json'), [
    { loc: { file: 'p.json', document: 1, prefix: [] }, value: { kind: 'IPPool', spec: { cidr: '10.0.0.0/8' } } },
  ]);
  t.deepEqual(itemsOf('---\n{}', 'p.JSON'), yamlOnly('---\n{}', 'p.JSON'));
  t.is((itemsOf('---\n{}', 'p.JSON')[0] as { error: ConfigDiagnostic }).error.rule, 'json-syntax');
  t.deepEqual(itemsOf(' \n', 'p.json'), []);
});

test('documents are produced one at a time', (t) => {
  // The generator reads as far as it is asked: the broken document 3 has not been reached yet.
  const it = parseManifestDocuments('a: 1\n---\nb: 2\n---\nc: [\n', 'f.yaml');
  t.deepEqual(it.next().value, { loc: { file: 'f.yaml', document: 1, prefix: [] }, value: { a: 1 } });
  t.deepEqual(it.next().value, { loc: { file: 'f.yaml', document: 2, prefix: [] }, value: { b: 2 } });
  t.is((it.next().value as { error: ConfigDiagnostic }).error.document, 3);
});

// ------------------------------------------------------------------------------------------------
// Every manifest in the fixtures.

function fixtureFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? fixtureFiles(p) : /\.(ya?ml|json)$/i.test(e.name) ? [p] : [];
  });
}

const FIXTURES = fixtureFiles(fixture());
test('there are fixtures', (t) => {
  t.true(FIXTURES.length >= 8);
});
for (const file of FIXTURES) {
  test(`fixture ${path.relative(fixture(), file)}`, (t) => {
    const text = fs.readFileSync(file, 'utf8');
    const items = itemsOf(text, file);
    t.deepEqual(items, yamlOnly(text, file));
    t.true(items.length > 0);
    t.false(items.some((i) => 'error' in i));
    // CRLF and a BOM change nothing either.
    const crlf = `\uFEFF${text.replace(/\n/g, '\r\n')}`;
    if (!/\.json$/i.test(file)) t.deepEqual(itemsOf(crlf, file), yamlOnly(crlf, file));
  });
}

// ------------------------------------------------------------------------------------------------
// Property: random manifest-like documents, written by the `yaml` library's stringify.

const trickyString = fc.oneof(
  fc.constantFrom(
    '1', '-1', '+1', '007', '0o17', '0x1F', '-0x1', '0b11', '1.5', '1.', '.5', '1e3', '1E-3', '.inf', '-.Inf', '.nan', '1_000', '12:30', '2001-12-14',
    'true', 'False', 'TRUE', 'yes', 'no', 'Yes', 'NO', 'on', 'off', 'y', 'n', 'null', 'Null', '~', '', ' ',
    'a: b', 'a:b', 'http://x:80/y?z', '- x', '# c', 'x #c', "it's", '"q"', "'q'", '---', '...', '--- x', 'x\n---\ny', '%YAML 1.2',
    'a\nb', 'a\n\nb\n', ' lead', 'trail ', 'a\tb', '\\', 'é', '😀', '@x', '`x', '!x', '&x', '*x', '|', '>', '[x]', '{x}', '?', ':', '-', 'a,b', '<<',
    'projectcalico.org/v3', '10.0.0.0/8', 'fd00::/64', 'node-0', 'all()', "has(x) && y == 'z'",
  ),
  fc.string({ unit: fc.constantFrom('a', 'b', ' ', ':', '-', '#', "'", '"', '\n', '.', '0', '1', 'e', ',', '[', '{', '\\', 'x', '|', '>'), maxLength: 16 }),
);
const key = fc.oneof(
  fc.constantFrom('apiVersion', 'kind', 'metadata', 'name', 'spec', 'cidr', 'ipipMode', 'a:b', 'a: b', 'key with space', '1', '0x1', 'true', 'null', '~', '', '-k', '#k', 'k#', '__proto__', 'toString', '<<', 'a\nb'),
  trickyString,
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    trickyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const manifest = fc.record({
  apiVersion: fc.constantFrom('projectcalico.org/v3', 'crd.projectcalico.org/v1', 'v1'),
  kind: fc.constantFrom('IPPool', 'Node', 'BlockAffinity', 'FelixConfiguration', 'NodeList'),
  metadata: fc.record({ name: trickyString, labels: fc.dictionary(key, trickyString, { maxKeys: 3 }) }, { requiredKeys: ['name'] }),
  spec: fc.dictionary(key, value, { maxKeys: 5 }),
});
const layout = fc.record({
  separator: fc.constantFrom('---\n', '...\n', '...\n---\n', '--- \n', '---\n\n', '# next\n---\n', '---\n# empty\n---\n'),
  crlf: fc.boolean(),
  options: fc.record({
    flowLevel: fc.constantFrom(undefined, 1, 2),
    lineWidth: fc.constantFrom(undefined, 0, 12),
    defaultStringType: fc.constantFrom(undefined, 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED'),
    defaultKeyType: fc.constantFrom(undefined, null, 'PLAIN', 'QUOTE_DOUBLE'),
    indentSeq: fc.boolean(),
  }),
});

function writeYaml(docs: unknown[], l: { separator: string; crlf: boolean; options: object }): string | undefined {
  let text: string;
  try {
    text = docs.map((d) => stringify(d, l.options)).join(l.separator);
  } catch {
    return undefined; // a combination stringify itself refuses
  }
  return l.crlf ? text.replace(/\n/g, '\r\n') : text;
}

/** Same items, NaN and -0 included (isDeepStrictEqual: Object.is on primitives). */
const sameAsYamlOnly = (text: string): boolean => isDeepStrictEqual(itemsOf(text), yamlOnly(text, 'f.yaml'));

test('property: stringified manifests read as the yaml library reads them', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: manifest }, { weight: 1, arbitrary: value }), { minLength: 1, maxLength: 5 }), layout, (docs, l) => {
        const text = writeYaml(docs, l);
        return text === undefined || sameAsYamlOnly(text);
      }),
      { numRuns: 1000 },
    ),
  );
});

test('property: broken YAML gets the same documents and diagnostics', (t) => {
  const pieces = ['\n  ', '- ', ': ', '? ', '!!str ', '&a ', '*a', '|-\n', '>\n', '|2\n', '\n\n', '\r\n', '\t', '"', "'", '\n---\n', '\n...\n', '%YAML 1.2\n---\n', '[', '{', '}', ']', ', ', '#', ' #', 'null', '~', '\\', ':', '-'];
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(manifest, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 6 }),
        (docs, edits) => {
          let text = docs.map((d) => stringify(d)).join('---\n');
          for (const [at, remove, insert] of edits) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + insert + text.slice(i + remove);
          }
          return sameAsYamlOnly(text);
        },
      ),
      { numRuns: 600 },
    ),
  );
});

// ------------------------------------------------------------------------------------------------
// Scale: one file of 130,000 documents (more than `push(...spread)` can take as arguments).

const MANY = 130_000;

test('130,000 documents in one file: parsed, numbered', (t) => {
  const text = Array.from({ length: MANY }, (_, i) => `kind: BlockAffinity\nmetadata:\n  name: b-${i}\n`).join('---\n');
  const { documents, errors } = parseManifestText(text, 'many.yaml');
  t.deepEqual(errors, []);
  t.is(documents.length, MANY);
  t.deepEqual(documents[MANY - 1], { loc: { file: 'many.yaml', document: MANY, prefix: [] }, value: { kind: 'BlockAffinity', metadata: { name: `b-${MANY - 1}` } } });
});

test('130,000 documents in one file through parseManifests: no stack overflow', (t) => {
  // apiVersion missing: one diagnostic per document, through classifySources' lists.
  const text = Array.from({ length: MANY }, (_, i) => `kind: BlockAffinity\nmetadata:\n  name: b-${i}\n`).join('---\n');
  const r = parseManifests([{ file: 'many.yaml', text }]);
  t.false(r.ok);
  if (r.ok) return;
  t.is(r.errors.length, MANY);
  t.deepEqual([r.errors[0]!.rule, r.errors[0]!.document, r.errors[MANY - 1]!.document], ['required', 1, MANY]);
});
