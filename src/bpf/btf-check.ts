// Compares TS layout declarations (struct codecs, enum tables) with the BTF of a compiled object,
// where burrow.h's real layout lives. burrow.h's codecs are generated from the header at build
// time (src/bpf/structs.ts, docs/datapath.md "The vocabulary"), so for them a mismatch means the
// object was built from another header than the TypeScript; writing a map through them would
// corrupt entries, so the caller refuses to load.
// Pure: it works on the plain BTF descriptions the addon returns.
import { BpfError } from './errors.js';
import type { BtfEnum, BtfStruct, NativeError } from './native.js';
import type { EnumSpec } from './structs.js';
import type { StructCodec } from './struct.js';

export interface LayoutProblem {
  field: string;
  what: 'size' | 'offset' | 'missing-in-codec' | 'missing-in-btf' | 'bitfield' | 'overlap' | 'value';
  /** From the BTF: what burrow.h says. */
  expected: string | number;
  /** From the TS declaration. */
  actual: string | number;
}

/** The TS declaration of a struct or enum disagrees with the object's BTF. */
/** An object's BTF disagrees with the TypeScript layout (a BpfError: EINVAL from `checkLayouts`). */
export class LayoutMismatchError extends BpfError {
  readonly typeName: string;
  readonly problems: readonly LayoutProblem[];
  readonly field: string;
  readonly expected: string | number;
  readonly actual: string | number;

  constructor(typeName: string, problems: LayoutProblem[], where: string) {
    const lines = problems.map((p) => `  - ${describe(p)}`);
    const message =
      `${typeName} in ${where} does not match src/bpf's declaration (burrow.h is the source of truth; ` +
      `build the objects and the TypeScript from the same header: npm run build:bpf && npm run build):\n${lines.join('\n')}`;
    super(Object.assign(new Error(message), { code: 'EINVAL', errno: 22, syscall: 'checkLayouts' }) as NativeError, message);
    this.typeName = typeName;
    this.problems = problems;
    const first = problems[0];
    this.field = first?.field ?? '';
    this.expected = first?.expected ?? '';
    this.actual = first?.actual ?? '';
  }
}

function describe(p: LayoutProblem): string {
  switch (p.what) {
    case 'size':
      return p.field === '' ? `size: BTF says ${p.expected} bytes, the codec has ${p.actual}`
        : `field '${p.field}': BTF size ${p.expected}, codec size ${p.actual}`;
    case 'offset':
      return `field '${p.field}': BTF offset ${p.expected}, codec offset ${p.actual}`;
    case 'missing-in-codec':
      return `field '${p.field}' (${p.expected}) is in the BTF but not in the codec`;
    case 'missing-in-btf':
      return `field '${p.field}' (${p.actual}) is in the codec but not in the BTF`;
    case 'bitfield':
      return `field '${p.field}' is a bitfield in the BTF; codecs cannot describe bitfields`;
    case 'overlap':
      return `padding '${p.field}' (${p.actual}) overlaps BTF member ${p.expected}`;
    case 'value':
      return `enumerator '${p.field}': BTF value ${p.expected}, declared ${p.actual}`;
  }
}

function span(offset: number, size: number): string {
  return `offset ${offset}, size ${size}`;
}

/**
 * Checks size and every field offset and size. With `prefix`, the codec may describe only the
 * leading part of the struct (e.g. a context struct whose tail the test never touches).
 */
export function structProblems(codec: StructCodec<unknown>, btf: BtfStruct, opts: { prefix?: boolean } = {}): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  if (opts.prefix ? codec.size > btf.size : codec.size !== btf.size) {
    problems.push({ field: '', what: 'size', expected: btf.size, actual: codec.size });
  }
  const byName = new Map(codec.fields.map((f) => [f.name, f]));
  for (const m of btf.members) {
    if (m.bitfieldSize !== undefined) {
      problems.push({ field: m.name, what: 'bitfield', expected: m.bitfieldSize, actual: '' });
      continue;
    }
    const f = byName.get(m.name);
    if (!f) {
      if (!opts.prefix || m.offset < codec.size) {
        problems.push({ field: m.name, what: 'missing-in-codec', expected: span(m.offset, m.size), actual: '' });
      }
      continue;
    }
    if (f.offset !== m.offset) problems.push({ field: m.name, what: 'offset', expected: m.offset, actual: f.offset });
    if (f.codec.size !== m.size) problems.push({ field: m.name, what: 'size', expected: m.size, actual: f.codec.size });
  }
  const btfNames = new Set(btf.members.map((m) => m.name));
  for (const f of codec.fields) {
    if (btfNames.has(f.name)) continue;
    if (!f.padding) {
      problems.push({ field: f.name, what: 'missing-in-btf', expected: '', actual: span(f.offset, f.codec.size) });
      continue;
    }
    // Padding C leaves unnamed is fine, as long as it covers no member.
    const hit = btf.members.find((m) => m.offset < f.offset + f.codec.size && f.offset < m.offset + m.size);
    if (hit) problems.push({ field: f.name, what: 'overlap', expected: `'${hit.name}'`, actual: span(f.offset, f.codec.size) });
  }
  return problems;
}

export function checkStruct(codec: StructCodec<unknown>, btf: BtfStruct, where = 'the object', opts: { prefix?: boolean } = {}): void {
  const problems = structProblems(codec, btf, opts);
  if (problems.length) throw new LayoutMismatchError(`struct ${codec.cName}`, problems, where);
}

/** Every enumerator (but the ignored sentinels) must be declared, with the same value, and vice versa. */
export function enumProblems(spec: EnumSpec, btf: BtfEnum): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const declared = new Map(Object.entries(spec.values));
  const seen = new Set<string>();
  for (const { name, value } of btf.values) {
    if (spec.ignore?.includes(name)) continue;
    const short = name.startsWith(spec.prefix) ? name.slice(spec.prefix.length).toLowerCase() : name;
    seen.add(short);
    const mine = declared.get(short);
    if (mine === undefined) problems.push({ field: name, what: 'missing-in-codec', expected: `= ${value}`, actual: '' });
    else if (mine !== value) problems.push({ field: name, what: 'value', expected: value, actual: mine });
  }
  for (const [short, value] of declared) {
    if (!seen.has(short)) {
      problems.push({ field: spec.prefix + short.toUpperCase(), what: 'missing-in-btf', expected: '', actual: `= ${value}` });
    }
  }
  return problems;
}

export function checkEnum(spec: EnumSpec, btf: BtfEnum, where = 'the object'): void {
  const problems = enumProblems(spec, btf);
  if (problems.length) throw new LayoutMismatchError(`enum ${spec.cName}`, problems, where);
}

export interface BtfSource {
  btfStruct(name: string): BtfStruct | null;
  btfEnum(name: string): BtfEnum | null;
}

export interface LayoutCheckResult {
  /** Struct names found in the BTF and checked. */
  structs: string[];
  enums: string[];
}

/**
 * Checks each declaration whose type the object's BTF contains (an object that does not use a
 * struct carries no BTF for it). All mismatches are collected into one error.
 */
export function checkLayouts(
  src: BtfSource,
  decls: { structs?: readonly StructCodec<unknown>[]; enums?: readonly EnumSpec[] },
  where: string,
): LayoutCheckResult {
  const result: LayoutCheckResult = { structs: [], enums: [] };
  const errors: LayoutMismatchError[] = [];
  for (const codec of decls.structs ?? []) {
    const btf = src.btfStruct(codec.cName);
    if (!btf) continue;
    result.structs.push(codec.cName);
    const problems = structProblems(codec, btf);
    if (problems.length) errors.push(new LayoutMismatchError(`struct ${codec.cName}`, problems, where));
  }
  for (const spec of decls.enums ?? []) {
    const btf = src.btfEnum(spec.cName);
    if (!btf) continue;
    result.enums.push(spec.cName);
    const problems = enumProblems(spec, btf);
    if (problems.length) errors.push(new LayoutMismatchError(`enum ${spec.cName}`, problems, where));
  }
  const first = errors[0];
  if (first && errors.length === 1) throw first;
  if (first) {
    const all = errors.flatMap((e) => e.problems.map((p) => ({ ...p, field: `${e.typeName}.${p.field}` })));
    throw new LayoutMismatchError(errors.map((e) => e.typeName).join(', '), all, where);
  }
  return result;
}
