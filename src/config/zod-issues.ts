// zod issues → ConfigDiagnostics: one per problem, with the field path, a stable rule id and a
// message in the words a manifest author uses ("unknown field 'ipipmode'; did you mean
// 'ipipMode'?", "Invalid enum value 'Sometimes'; expected Always | CrossSubnet | Never").
import type { z } from 'zod';
import { diagnosticAt, excerpt, suggest, type ConfigDiagnostic, type PathSegment, type SourceLocation } from './diagnostics.js';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

interface LooseDef {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  element?: Schema;
  valueType?: Schema;
  in?: Schema;
}

const defOf = (s: Schema): LooseDef => s._zod.def as unknown as LooseDef;

function unwrap(s: Schema): Schema {
  let cur = s;
  for (;;) {
    const def = defOf(cur);
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch'].includes(def.type)) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else return cur;
  }
}

/** The field names an object schema at `path` accepts (for "did you mean"). */
export function knownKeysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  let cur: Schema | undefined = schema;
  for (const seg of path) {
    if (!cur) return [];
    const def = defOf(unwrap(cur));
    if (def.type === 'object' && typeof seg === 'string') cur = def.shape?.[seg];
    else if (def.type === 'array') cur = def.element;
    else if (def.type === 'record') cur = def.valueType;
    else return [];
  }
  if (!cur) return [];
  const def = defOf(unwrap(cur));
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string '${excerpt(v)}'`;
  return `${typeof v} ${excerpt(String(v))}`;
}

const quote = (v: unknown): string => (typeof v === 'string' ? `'${excerpt(v)}'` : excerpt(JSON.stringify(v) ?? String(v)));

const EXPECTED_WORDS: Record<string, string> = { int: 'an integer', object: 'a mapping', array: 'a list' };

const toSegments = (path: readonly PropertyKey[]): PathSegment[] =>
  path.map((p) => (typeof p === 'number' ? p : String(p)));

export function zodIssuesToDiagnostics(
  issues: readonly Issue[],
  schema: Schema,
  input: unknown,
  loc: SourceLocation,
  resource: { kind: string; name: string },
): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const at = (path: readonly PropertyKey[], rule: string, message: string) =>
    out.push(diagnosticAt(loc, resource, toSegments(path), rule, message));

  for (const issue of issues) {
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, issue.path);
        for (const key of issue.keys) {
          const guess = key.length <= 100 ? suggest(key, known) : undefined;
          const hint = guess
            ? `; did you mean '${guess}'?`
            : known.length > 0 && known.length <= 12 ? `; expected one of ${known.join(', ')}` : '';
          at([...issue.path, excerpt(key)], 'unknown-field', `unknown field '${excerpt(key)}'${hint}`);
        }
        break;
      }
      case 'invalid_value': {
        const value = valueAt(input, issue.path);
        const expected = issue.values.map((v) => String(v)).join(' | ');
        at(issue.path, 'invalid-enum', `Invalid enum value ${quote(value)}; expected ${expected}`);
        break;
      }
      case 'invalid_type': {
        const value = valueAt(input, issue.path);
        const expected = EXPECTED_WORDS[issue.expected] ?? `a ${issue.expected}`;
        if (value === undefined) at(issue.path, 'required', `required field is missing (expected ${expected})`);
        else {
          // YAML 1.1 habits (Go's YAML reads yes/no/on/off as booleans; YAML 1.2 does not).
          const hint = issue.expected === 'boolean' && typeof value === 'string' ? '; write true or false' : '';
          at(issue.path, 'invalid-type', `expected ${expected}, got ${describeValue(value)}${hint}`);
        }
        break;
      }
      case 'too_small':
        if (issue.origin === 'string' && Number(issue.minimum) === 1) at(issue.path, 'required', 'must not be empty');
        else at(issue.path, 'out-of-range', issue.message);
        break;
      case 'custom': {
        const rule = typeof issue.params?.['rule'] === 'string' ? (issue.params['rule'] as string) : 'invalid';
        at(issue.path, rule, issue.message);
        break;
      }
      default:
        at(issue.path, 'invalid', issue.message);
    }
  }
  return out;
}
