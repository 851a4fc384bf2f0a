// Manifest text → documents. YAML files may hold several documents (`---`); a `.json` file holds
// one. Syntax errors become diagnostics with the line; empty documents are skipped but still
// counted, so "document N" always matches what an editor shows. Pure: text and a file name in.
//
// Speed (issue 9: 100k BlockAffinities, one per document, in one 16 MB file): the `yaml` library
// builds a CST and an AST for every document before handing out values, ~10× slower than
// js-yaml. So the text is split at document markers here, and each document is read by js-yaml
// with a schema that resolves plain scalars exactly as the `yaml` library's YAML 1.2 core schema
// does. The `yaml` library (what this file always used) still reads every document js-yaml
// rejects — so syntax errors keep their exact messages and lines — and every document with a
// construct where the two could disagree (anchors, aliases and tags — the alias-bomb limit stays
// the `yaml` library's —, directives, flow collections, complex or null keys, tabs, …: see
// NEEDS_YAML_LIBRARY). Where the `yaml` library's reading of one document depends on the others
// (error attribution, unterminated quotes, YAML 1.1 directives) see yamlDocuments. Documents are
// produced one at a time: the file's whole document tree is never built.
// test/unit/config/documents.test.ts holds the result equal to the `yaml` library alone.
import { FAILSAFE_SCHEMA, load as jsYamlLoad, Type } from 'js-yaml';
import { Composer, LineCounter, Parser, type Document } from 'yaml';
import type { SourceItem } from '../engine/events.js';
import { excerpt, type ConfigDiagnostic, type SourceLocation } from './diagnostics.js';

export interface RawDocument {
  readonly loc: SourceLocation;
  readonly value: unknown;
}

export interface ParsedText {
  readonly documents: RawDocument[];
  readonly errors: ConfigDiagnostic[];
}

export const isJsonFile = (file: string): boolean => /\.json$/i.test(file);

function syntaxError(file: string, document: number, rule: string, message: string): ConfigDiagnostic {
  return { severity: 'error', file, document, kind: '', name: '', path: '', rule, message };
}

/** All documents and syntax errors at once (the lazy form is parseManifestDocuments). */
export function parseManifestText(text: string, file: string): ParsedText {
  const documents: RawDocument[] = [];
  const errors: ConfigDiagnostic[] = [];
  for (const item of parseManifestDocuments(text, file)) {
    if ('error' in item) errors.push(item.error);
    else documents.push(item);
  }
  return { documents, errors };
}

/**
 * The file's documents one at a time, in order, each read only when asked for; a syntax error is an
 * `{ error }` item in the place of its document. Numbering as parseManifestText.
 */
export function* parseManifestDocuments(text: string, file: string): Generator<SourceItem> {
  yield* boundSyntaxErrors(isJsonFile(file) ? jsonDocuments(text, file) : yamlDocuments(text, file));
}

/** Syntax errors shown per document; the rest are counted in one more. */
export const MAX_SYNTAX_ERRORS_PER_DOCUMENT = 10;
/** A syntax error's message quotes at most this much (the `yaml` library quotes whole tokens). */
const MAX_SYNTAX_MESSAGE = 200;

/**
 * Garbage in, short errors out: a 1 MB file of noise is ~1,800 `yaml` errors, some quoting
 * kilobytes of the file. Each message is cut to MAX_SYNTAX_MESSAGE characters, and a document
 * gets at most MAX_SYNTAX_ERRORS_PER_DOCUMENT of them, then one that counts the rest.
 */
export function* boundSyntaxErrors(items: Iterable<SourceItem>): Generator<SourceItem> {
  const shown = new Map<number, number>();
  let dropped: { error: ConfigDiagnostic; count: number } | undefined;
  const more = (d: { error: ConfigDiagnostic; count: number }): SourceItem => ({
    error: { ...d.error, message: `${d.error.rule === 'json-syntax' ? 'invalid JSON' : 'invalid YAML'}: … and ${d.count} more syntax error${d.count === 1 ? '' : 's'} in this document (the first ${MAX_SYNTAX_ERRORS_PER_DOCUMENT} are shown)` },
  });
  for (const item of items) {
    const document = 'error' in item ? item.error.document : item.loc.document;
    if (dropped && dropped.error.document !== document) {
      yield more(dropped);
      dropped = undefined;
    }
    if (!('error' in item)) {
      yield item;
      continue;
    }
    const n = (shown.get(document) ?? 0) + 1;
    shown.set(document, n);
    if (n > MAX_SYNTAX_ERRORS_PER_DOCUMENT) {
      if (dropped) dropped.count++;
      else dropped = { error: item.error, count: 1 };
      continue;
    }
    const message = item.error.message;
    yield message.length > MAX_SYNTAX_MESSAGE ? { error: { ...item.error, message: excerpt(message, MAX_SYNTAX_MESSAGE) } } : item;
  }
  if (dropped) yield more(dropped);
}

function* jsonDocuments(text: string, file: string): Generator<SourceItem> {
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    yield { error: syntaxError(file, 1, 'json-syntax', `invalid JSON: ${reason}`) };
    return;
  }
  yield { loc: { file, document: 1, prefix: [] }, value };
}

// ---------------------------------------------------------------------------------------------
// The `yaml` library: today's reading of a document, its diagnostics and its alias limit.

// uniqueKeys (the default) makes a repeated key an error: Go's YAML would silently keep one.
const YAML_OPTIONS = { uniqueKeys: true } as const;

interface Composed {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/**
 * The `yaml` library's documents of `source`, one at a time (parseAllDocuments without holding them
 * all); yamlLibraryItems applies what its prettyErrors option would.
 */
function* composeYaml(source: string): Generator<Composed> {
  const lines = new LineCounter();
  const composer = new Composer(YAML_OPTIONS);
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(source))) yield { doc, lines };
}

/**
 * A document's errors as diagnostics: the first line of what `prettyErrors: true` makes of the
 * message (it appends ` at line N, column M`), with `lineOffset` added to N.
 */
function errorItems({ doc, lines }: Composed, file: string, index: number, lineOffset: number): SourceItem[] {
  return doc.errors.map((err) => {
    let message = err.message;
    if (err.pos[0] !== -1) {
      const { line, col } = lines.linePos(err.pos[0]);
      message += ` at line ${line + lineOffset}, column ${col}`;
    }
    const firstLine = (message.split('\n')[0] ?? message).replace(/:$/, '');
    return { error: syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${firstLine}`) };
  });
}

/** The items of one document read by the `yaml` library (lines shifted by `lineOffset`). */
function yamlLibraryItems(composed: Composed, file: string, index: number, lineOffset: number): SourceItem[] {
  const { doc } = composed;
  if (doc.errors.length > 0) return errorItems(composed, file, index, lineOffset);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // e.g. an alias bomb ("Excessive alias count"): still the user's document, not our crash.
    return [{ error: syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${e instanceof Error ? e.message : String(e)}`) }];
  }
  if (value === null || value === undefined) return [];
  return [{ loc: { file, document: index, prefix: [] }, value }];
}

// ---------------------------------------------------------------------------------------------
// js-yaml with the `yaml` library's YAML 1.2 core schema (node_modules/yaml/dist/schema/core):
// js-yaml's own CORE_SCHEMA also takes 0b binary, signed hex and octal (`-0x1` → -1), which the
// `yaml` library reads as strings. Timestamps stay strings in both.

// Every plain scalar goes through these resolvers (null, bool, int, float in the `yaml` library's
// order), so each rejects most strings on their first character before any RegExp runs.

const isNull = (s: string): boolean =>
  s.length === 0 || (s.length === 1 && s === '~') || (s.length === 4 && (s === 'null' || s === 'Null' || s === 'NULL'));
const isTrue = (s: string): boolean => s.length === 4 && (s === 'true' || s === 'True' || s === 'TRUE');
const isFalse = (s: string): boolean => s.length === 5 && (s === 'false' || s === 'False' || s === 'FALSE');
/** 0-9 + - . : what an int or float starts with. */
const mayBeNumber = (s: string): boolean => {
  const c = s.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
};
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

const CORE_SCHEMA_OF_YAML = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type('tag:yaml.org,2002:null', { kind: 'scalar', resolve: isNull, construct: () => null }),
    new Type('tag:yaml.org,2002:bool', { kind: 'scalar', resolve: (s: string) => isTrue(s) || isFalse(s), construct: isTrue }),
    // One type per tag: js-yaml keeps only the last type of a tag.
    new Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (s: string) => mayBeNumber(s) && (INT_OCT.test(s) || INT.test(s) || INT_HEX.test(s)),
      construct: (s: string) => (s[1] === 'o' ? parseInt(s.substring(2), 8) : s[1] === 'x' ? parseInt(s.substring(2), 16) : parseInt(s, 10)),
    }),
    new Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (s: string) => mayBeNumber(s) && (FLOAT_NAN.test(s) || FLOAT_EXP.test(s) || FLOAT.test(s)),
      construct: (s: string) =>
        FLOAT_NAN.test(s)
          ? s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
          : parseFloat(s),
    }),
  ],
});

/**
 * A document js-yaml could read differently from the `yaml` library (or accept where it reports an
 * error) goes to the `yaml` library. Matching is lexical and conservative: a hit inside a quoted
 * string only costs speed.
 *   [&*!]          anchors, aliases, tags (the alias-bomb limit is the `yaml` library's)
 *   ?              complex keys (js-yaml joins a list key with commas, `yaml` writes it as YAML)
 *   %              directives (their effect is the `yaml` library's)
 *   << \t          merge keys; tabs (the two differ on tabs around indentation)
 *   |2 >-1 …       block scalars with an indentation indicator (they differ at the top level) or
 *                  starting with an empty line (more indented, an error for `yaml` only)
 *   [ ] { }        flow collections except an empty `[]`/`{}` value: their indentation rules differ
 *   []: {}:        an empty collection as a key
 *   null/~/empty key  js-yaml names it 'null', `yaml` ''
 *   "# '# ]# }# |#  a comment not separated from the token before it: an error for `yaml` only
 *   `-` alone      an empty sequence item: after `- - a` js-yaml puts the next outer item inside
 *   control characters, NEL, LS, PS, BOM, lone CR
 */
const NEEDS_YAML_LIBRARY = new RegExp(
  [
    /[&*!?%\t]|<<|[|>][-+]?[0-9]|[|>][-+]?[ ]*(?:#.*)?\r?\n[ \r]*(?:\n|$)/.source,
    /\[(?!\])|(?<!\[)\]|\{(?!\})|(?<!\{)\}|(?:\[\]|\{\})[ ]*:/.source,
    /(?:^|[\s,\-])(?:~|null|Null|NULL)?[ ]*:(?=[\s]|$)/.source,
    /["'\]}]#|[|>][-+0-9]*#|(?:^|[ ])-[ ]*(?:#.*)?\r?$/.source,
    /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]|\r(?!\n)/.source,
  ].join('|'),
  'm',
);

/** Every character NEEDS_YAML_LIBRARY can match on, but for null and empty keys and empty items (checked apart). */
const MAY_NEED_YAML_LIBRARY = /[&*!?%\t<|>[\]{}"'#~\r\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]|(?:^|[\n ])-[ ]*(?:\n|$)/;

/** A cheap test first: most documents have none of these characters. */
const needsYamlLibrary = (s: string): boolean =>
  (MAY_NEED_YAML_LIBRARY.test(s) || s.includes('null') || s.includes('Null') || s.includes('NULL') || s.includes(' :') || s.includes('\n:') ||
    s.includes('-:') || s.charCodeAt(0) === 0x3a) &&
  (NEEDS_YAML_LIBRARY.test(s) || hasMultiLineQuotedScalar(s));

/** The value js-yaml reads, or NOT_READ when the document must go to the `yaml` library. */
const NOT_READ = Symbol('not read');

function readWithJsYaml(source: string): unknown {
  // A byte-order mark at the start of the stream: both libraries skip it.
  const body = source.charCodeAt(0) === BOM ? source.slice(1) : source;
  if (needsYamlLibrary(body)) return NOT_READ;
  try {
    return jsYamlLoad(body, { schema: CORE_SCHEMA_OF_YAML });
  } catch {
    return NOT_READ; // the `yaml` library reports it, with its own words and lines
  }
}

const isSeparator = (c: number): boolean =>
  c === SPACE || c === TAB || c === 0x3a /* : */ || c === DASH || c === 0x2c /* , */ || c === 0x5b /* [ */ || c === 0x7b /* { */ || c === 0x3f; /* ? */

/**
 * Whether a quoted scalar may go on past its line: js-yaml takes continuation lines the `yaml`
 * library refuses as not indented enough. Conservative: any quote that may open a scalar and is
 * not closed on its line counts.
 */
function hasMultiLineQuotedScalar(s: string): boolean {
  if (s.indexOf('"') < 0 && s.indexOf("'") < 0) return false;
  let lineStart = 0;
  while (lineStart < s.length) {
    let eol = s.indexOf('\n', lineStart);
    if (eol < 0) eol = s.length;
    for (let i = lineStart; i < eol; i++) {
      const c = s.charCodeAt(i);
      const atBoundary = i === lineStart || isSeparator(s.charCodeAt(i - 1));
      if (c === HASH && (i === lineStart || s.charCodeAt(i - 1) === SPACE || s.charCodeAt(i - 1) === TAB)) break;
      if (!atBoundary || (c !== 0x22 /* " */ && c !== 0x27) /* ' */) continue;
      let j = i + 1;
      for (; j < eol; j++) {
        const d = s.charCodeAt(j);
        if (c === 0x22 && d === 0x5c /* \ */) j++;
        else if (d === c) {
          if (c === 0x27 && s.charCodeAt(j + 1) === 0x27) j++;
          else break;
        }
      }
      if (j >= eol) return true;
      i = j;
    }
    lineStart = eol + 1;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Splitting at document markers, the way the `yaml` library's lexer does: a line starting at
// column 0 with `---` or `...` followed by whitespace or the end of the line always ends the
// document before it, inside block scalars and quoted strings too. Outside a document, blank
// lines, comments and directives (`%…`) belong to the next document; any other line, `---`
// included, starts it; a `...` with no document open is an empty document of its own.

interface Chunk {
  /** 1-based document number. */
  readonly index: number;
  /** Offsets in the text: the document (with the comments and directives before it)... */
  readonly start: number;
  readonly end: number;
  /** ...and up to the end of the marker line that ended it, for the `yaml` library. */
  readonly contextEnd: number;
  /** 0-based line of `start`. */
  readonly line: number;
  /** Must be read by the `yaml` library: directives, content after a marker, a line > 1024 chars. */
  readonly needsYamlLibrary: boolean;
  /**
   * The `yaml` library must read the rest of the file from here on: a directive other than
   * `%YAML 1.2` (a 1.1 directive holds for the documents after it too), or content after `...`.
   */
  readonly restToYamlLibrary: boolean;
}

const DASH = 0x2d;
const DOT = 0x2e;
const HASH = 0x23;
const PERCENT = 0x25;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const BOM = 0xfeff;
/** The `yaml` library refuses an implicit key longer than this; js-yaml does not. */
const MAX_IMPLICIT_KEY = 1024;

/** Whether the line [pos, eol) is blank or only a comment. */
function isBlankOrComment(text: string, pos: number, eol: number): boolean {
  let i = pos;
  let c = text.charCodeAt(i);
  while (i < eol && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
  return i >= eol || c === HASH || (c === CR && i + 1 === eol);
}

function* splitDocuments(text: string): Generator<Chunk> {
  const length = text.length;
  let pos = 0;
  let line = 0;
  let index = 0;
  // The document being collected.
  let start = 0;
  let startLine = 0;
  let open = false;
  let needsYamlLibrary = false;
  let restToYamlLibrary = false;
  const chunk = (end: number, contextEnd: number): Chunk =>
    ({ index: ++index, start, end, contextEnd, line: startLine, needsYamlLibrary, restToYamlLibrary });
  const next = (at: number, atLine: number) => {
    start = at;
    startLine = atLine;
    open = false;
    needsYamlLibrary = false;
    restToYamlLibrary = false;
  };

  while (pos < length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = length;
    const after = eol < length ? eol + 1 : length;
    // A byte-order mark may start the stream (and, for the `yaml` library, any line outside a
    // document: not split here, see splitsLikeYamlLibrary).
    const at = pos === 0 && text.charCodeAt(0) === BOM ? 1 : pos;
    const c = text.charCodeAt(at);
    if (eol - at > MAX_IMPLICIT_KEY) needsYamlLibrary = true;

    let marker = false;
    if ((c === DASH || c === DOT) && text.charCodeAt(at + 1) === c && text.charCodeAt(at + 2) === c) {
      const c3 = text.charCodeAt(at + 3);
      marker = at + 3 >= eol || c3 === SPACE || c3 === TAB || c3 === CR;
      if (!marker) needsYamlLibrary = true; // js-yaml takes `---x` for a document start
    }
    if (marker) {
      const content = !isBlankOrComment(text, at + 3, eol);
      if (c === DASH) {
        if (open) {
          yield chunk(pos, after);
          next(pos, line);
        }
        open = true;
        if (content) needsYamlLibrary = true; // `--- a: 1` is an error for `yaml` only; `--- |` etc. are rare
      } else {
        // Content after `...` becomes errors of this document and can swallow the lines after it.
        if (content) restToYamlLibrary = true;
        yield chunk(after, after);
        next(after, line + 1);
      }
    } else if (!open) {
      if (c === PERCENT) {
        needsYamlLibrary = true;
        if (!/^%YAML[ \t]+1\.2[ \t]*(?:#.*)?\r?$/.test(text.slice(at, eol))) restToYamlLibrary = true;
      } else if (!isBlankOrComment(text, at, eol)) {
        open = true;
      }
    }
    pos = after;
    line++;
  }
  if (open) yield chunk(length, length);
}

/**
 * Whether splitDocuments sees the documents as the `yaml` library does. It does not for a lone CR
 * (a line break for js-yaml, not for `yaml`) or a byte-order mark after the first character (the
 * `yaml` library skips one at the start of any line outside a document): such a text is read by
 * the `yaml` library alone.
 */
const splitsLikeYamlLibrary = (text: string): boolean => !/\r(?!\n)/.test(text) && text.indexOf('\uFEFF', 1) < 0;

/**
 * How the `yaml` library attributes errors, reproduced document by document:
 * - An error token the parser emits before a document is complete (e.g. "Unexpected flow-seq-end
 *   token in YAML document") goes to the document before it, when there is one. So each
 *   document after the first is read after a stand-in previous document (PREVIOUS); the errors
 *   the stand-in collects are the real previous document's, which is held back one step for them.
 * - An unterminated quoted scalar takes in the text after its document (the lexer looks for the
 *   closing quote in the rest of the file). So a document is read followed by a document marker
 *   (`---`); if that marker does not start a document of its own, untouched by this one, the
 *   rest of the file is read by the `yaml` library in one go from this document on.
 * - Its line counter misses the line breaks inside some erroneous tokens, and every later line
 *   number in the file is that much smaller: `missedLines` carries the difference forward.
 */
const PREVIOUS = '~\n...\n';
const PREVIOUS_LINES = 2;
const PROBE = '---\n';

function* yamlDocuments(text: string, file: string): Generator<SourceItem> {
  if (!splitsLikeYamlLibrary(text)) {
    yield* yamlLibraryRest(text, 0, file, 1, 0, false, undefined);
    return;
  }
  let held: Held | undefined;
  let missedLines = 0;
  for (const chunk of splitDocuments(text)) {
    if (!chunk.restToYamlLibrary && !chunk.needsYamlLibrary) {
      const value = readWithJsYaml(text.slice(chunk.start, chunk.end));
      if (value !== NOT_READ) {
        if (held) yield* held.items;
        held = { index: chunk.index, items: value === null || value === undefined ? [] : [{ loc: { file, document: chunk.index, prefix: [] }, value }] };
        continue;
      }
    }
    const withPrevious = chunk.index > 1;
    const lineOffset = chunk.line - missedLines - (withPrevious ? PREVIOUS_LINES : 0);
    if (!chunk.restToYamlLibrary) {
      const body = text.slice(chunk.start, chunk.end);
      const probed = chunk.end < text.length;
      const source = (withPrevious ? PREVIOUS : '') + body + (probed ? PROBE : '');
      const docs = [...composeYaml(source)];
      if (docs.length === (withPrevious ? 1 : 0) + 1 + (probed ? 1 : 0) && (!probed || isUntouched(docs[docs.length - 1]!.doc))) {
        const [previous, composed] = withPrevious ? [docs[0]!, docs[1]!] : [undefined, docs[0]!];
        if (previous && held) attachErrors(held, previous, file, lineOffset);
        if (held) yield* held.items;
        held = { index: chunk.index, items: yamlLibraryItems(composed, file, chunk.index, lineOffset) };
        missedLines += countLineBreaks(body) - countedLineBreaks(composed.lines, source.length - body.length - (probed ? PROBE.length : 0), body.length);
        continue;
      }
    }
    yield* yamlLibraryRest(text, chunk.start, file, chunk.index, lineOffset, withPrevious, held);
    return;
  }
  if (held) yield* held.items;
}

/**
 * Whether the probe document got nothing from the one before it: no errors (the parser's error
 * tokens between two documents go to the later one after a directive), no directive (the lexer
 * can take the rest of an erroneous line for one), no content.
 */
function isUntouched(probe: Document.Parsed): boolean {
  const { directives } = probe;
  return (
    probe.errors.length === 0 &&
    probe.warnings.length === 0 &&
    probe.contents === null &&
    directives.yaml.version === '1.2' &&
    !directives.yaml.explicit &&
    Object.keys(directives.tags).length === 2
  );
}

interface Held {
  readonly index: number;
  items: SourceItem[];
}

/** Errors the stand-in previous document collected: the held document's, which then has no value. */
function attachErrors(held: Held, previous: Composed, file: string, lineOffset: number): void {
  if (previous.doc.errors.length === 0) return;
  const errors = errorItems(previous, file, held.index, lineOffset);
  held.items = held.items.every((item) => 'error' in item) ? [...held.items, ...errors] : errors;
}

/**
 * The rest of the text from `start`, by the `yaml` library alone; after the stand-in previous
 * document when `withPrevious` (its errors go to `held`, which is yielded first).
 */
function* yamlLibraryRest(
  text: string,
  start: number,
  file: string,
  firstIndex: number,
  lineOffset: number,
  withPrevious: boolean,
  held: Held | undefined,
): Generator<SourceItem> {
  let index = firstIndex;
  let first = withPrevious;
  for (const composed of composeYaml((withPrevious ? PREVIOUS : '') + text.slice(start))) {
    if (first) {
      first = false;
      if (held) attachErrors(held, composed, file, lineOffset);
      continue;
    }
    if (held) yield* held.items;
    held = undefined;
    yield* yamlLibraryItems(composed, file, index++, lineOffset);
  }
  if (held) yield* held.items;
}

function countLineBreaks(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Line starts the `yaml` library's counter recorded in (from, from + length]: one per line break it saw there. */
function countedLineBreaks(lines: LineCounter, from: number, length: number): number {
  let n = 0;
  for (const s of lines.lineStarts) if (s > from && s <= from + length) n++;
  return n;
}
