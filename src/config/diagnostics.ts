// What the user sees when a manifest is wrong (or suspicious): one structured diagnostic per
// problem, saying where (file, document, resource, field path), which rule and what to do, and
// the ONE formatter that prints them, one line each.

export type Severity = 'error' | 'warning';

export interface ConfigDiagnostic {
  readonly severity: Severity;
  /** The file as it was given to the loader ('' when not tied to a file, e.g. compile-time). */
  readonly file: string;
  /** 1-based index of the YAML document within the file (a JSON file is document 1); 0: none. */
  readonly document: number;
  /** Resource kind ('' when the document has none or is not a resource). */
  readonly kind: string;
  /** metadata.name ('' when absent). */
  readonly name: string;
  /** Field path inside the document, e.g. `spec.ipipMode`, `items[2].spec.cidr` ('' for the whole document). */
  readonly path: string;
  /** Stable identifier of the rule that fired (tests and tooling match on it). */
  readonly rule: string;
  readonly message: string;
}

/** Where a resource came from: enough to attach diagnostics to it. */
export interface SourceLocation {
  readonly file: string;
  readonly document: number;
  /** Path of the resource inside the document: [] for a document, ['items', 3] for a List item. */
  readonly prefix: readonly PathSegment[];
}

export type PathSegment = string | number;

/** How much of a user's text a message quotes: enough to recognise it, never a whole file. */
export const EXCERPT_CHARS = 60;
/** A message (and so a log line, a /healthz entry) is never longer than this, whatever it quotes. */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * User text as a message quotes it: at most `max` characters (then `…` and the full length),
 * control characters escaped so that a diagnostic stays one line.
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const safe = cut.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return text.length > max ? `${safe}… (${text.length} characters)` : safe;
}

/** At most `n` items of a list, then "… and N more". */
export function someOf(items: readonly string[], n = 10): string {
  return items.length > n ? `${items.slice(0, n).join(', ')}, … and ${items.length - n} more` : items.join(', ');
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** Builds diagnostics for one resource (or document) at one location. */
export function diagnosticAt(
  loc: SourceLocation,
  resource: { kind: string; name: string },
  path: readonly PathSegment[],
  rule: string,
  message: string,
  severity: Severity = 'error',
): ConfigDiagnostic {
  return {
    severity,
    file: loc.file,
    document: loc.document,
    // A kind or name that failed its own rule may be anything the document holds: quoted in part.
    kind: resource.kind.length > EXCERPT_CHARS ? excerpt(resource.kind) : resource.kind,
    name: resource.name.length > 253 ? excerpt(resource.name) : resource.name,
    path: clip(formatPath([...loc.prefix, ...path]), 200),
    rule,
    message: clip(message, MAX_MESSAGE_CHARS),
  };
}

/** `file: document N (Kind name)` — also used inside messages that point at another resource. */
export function describeLocation(d: Pick<ConfigDiagnostic, 'file' | 'document' | 'kind' | 'name'>): string {
  const parts: string[] = [];
  if (d.file) parts.push(d.file);
  let where = d.document > 0 ? `document ${d.document}` : '';
  const what = [d.kind, d.name].filter(Boolean).join(' ');
  if (what) where = where ? `${where} (${what})` : what;
  if (where) parts.push(where);
  return parts.join(': ');
}

/**
 * One line per diagnostic:
 * `manifests/pools.yaml: document 2 (IPPool ippool-1): spec.ipipMode: Invalid enum value 'Sometimes'; expected Always | CrossSubnet | Never`
 * Warnings carry `warning: ` before the message.
 */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  const parts: string[] = [];
  const where = describeLocation(d);
  if (where) parts.push(where);
  if (d.path) parts.push(d.path);
  const message = clip(d.message, MAX_MESSAGE_CHARS); // diagnostics not made by diagnosticAt too
  parts.push(d.severity === 'warning' ? `warning: ${message}` : message);
  return parts.join(': ');
}

export const formatDiagnostics = (ds: readonly ConfigDiagnostic[]): string => ds.map(formatDiagnostic).join('\n');

/** Stable order independent of the order manifests were given in (for warnings in outputs). */
export function compareDiagnostics(a: ConfigDiagnostic, b: ConfigDiagnostic): number {
  // The path last: it carries a List item's position, which moves with the layout.
  const ka = [a.kind, a.name, a.rule, a.message, a.path];
  const kb = [b.kind, b.name, b.rule, b.message, b.path];
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}

/** A candidate the word abbreviates, else the closest by edit distance (case-insensitive) when close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  if (lower.length >= 3) {
    const prefixed = candidates.find((c) => c.toLowerCase().startsWith(lower));
    if (prefixed) return prefixed;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
