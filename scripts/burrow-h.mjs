#!/usr/bin/env node
// Generates src/generated/burrow-h.ts from bpf/include/burrow.h, the one definition of what the
// eBPF programs and userspace share (docs/datapath.md, "The vocabulary"). Run by `npm run build`
// and scripts/setup.sh before tsc, so the TypeScript is compiled against the header as it is now:
// a counter, mode, flag, #define or struct field removed from burrow.h makes every TypeScript use
// of it a compile error. The output is build output (not committed).
//
// clang reads the header (its JSON AST for the enums and structs, `-dM -E` for the #defines), so
// values are the compiler's, not a second parser's. What is emitted:
// - every enum as an object named after its enumerators' common prefix (BURROW_MODE_NONE →
//   BURROW_MODE.none): keys lower-cased without the prefix, in declaration order; a sentinel
//   (an enumerator whose name goes on with `_` after the prefix: BURROW_STAT__MAX) becomes a
//   constant of its own;
// - every integer #define BURROW_* as a constant;
// - every struct as a field list: 'u8' 'u16' 'u32' 'u64'; 'ipv4' for a __be32 (burrow.h stores
//   addresses, and only addresses, in network order); 'mac' for a __u8[6] named *mac; a padding
//   field (_pad*) as its size in bytes. Anything else is refused with the field's name.
//
// Usage: node scripts/burrow-h.mjs [--header FILE] [--out FILE] [--check]
//   --check: exit 1 when FILE differs from what the header gives, write nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  if (i === -1) return fallback;
  const v = argv[i + 1];
  if (v === undefined) fail(`${name} needs a value`);
  return path.resolve(v);
}
const header = option('--header', path.join(root, 'bpf/include/burrow.h'));
const out = option('--out', path.join(root, 'src/generated/burrow-h.ts'));
const check = argv.includes('--check');

function fail(msg) {
  process.stderr.write(`burrow-h: ${msg}\n`);
  process.exit(1);
}

const clang = process.env.CLANG ?? 'clang';
const clangArgs = ['-target', 'bpf', `-I/usr/include/${os.machine()}-linux-gnu`, '-x', 'c'];
function runClang(extra) {
  try {
    return execFileSync(clang, [...clangArgs, ...extra, header], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    fail(`${clang} could not read ${path.relative(root, header)}:\n${e.stderr ?? e.message}`);
  }
}

const rel = path.relative(root, header);
const ast = JSON.parse(runClang(['-Xclang', '-ast-dump=json', '-fsyntax-only']));
const decls = (ast.inner ?? []).filter((d) => typeof d.name === 'string' && d.name.startsWith('burrow_'));

// ---- enums
function commonPrefix(names) {
  let p = names[0] ?? '';
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('_') + 1);
}

const enums = [];
for (const d of decls.filter((x) => x.kind === 'EnumDecl' && x.inner)) {
  const items = [];
  let next = 0;
  for (const c of d.inner.filter((x) => x.kind === 'EnumConstantDecl')) {
    const init = (c.inner ?? []).find((x) => x.kind === 'ConstantExpr' && x.value !== undefined);
    const value = init ? Number(init.value) : next;
    if (!Number.isSafeInteger(value)) fail(`${rel}: ${c.name} has no integer value clang could give`);
    items.push({ name: c.name, value });
    next = value + 1;
  }
  const names = items.map((i) => i.name);
  const prefix = names.length > 1 ? commonPrefix(names) : `${d.name.toUpperCase()}_`;
  if (!prefix.startsWith('BURROW_') || prefix === 'BURROW_' || !names.every((n) => n.startsWith(prefix))) {
    fail(`${rel}: enum ${d.name}: its enumerators share no BURROW_<NAME>_ prefix (${names.join(', ')})`);
  }
  const values = items.filter((i) => !i.name.slice(prefix.length).startsWith('_'));
  const sentinels = items.filter((i) => i.name.slice(prefix.length).startsWith('_'));
  enums.push({ cName: d.name, prefix, object: prefix.slice(0, -1), values, sentinels });
}

// ---- #defines
const defines = [];
for (const line of runClang(['-dM', '-E']).split('\n')) {
  const m = /^#define (BURROW_\w+) (.*)$/.exec(line);
  if (!m || m[1] === 'BURROW_H') continue;
  const text = m[2].trim();
  if (!/^(0x[0-9a-fA-F]+|\d+)[uUlL]*$/.test(text)) fail(`${rel}: #define ${m[1]} ${text}: only integer literals can be shared with TypeScript`);
  defines.push({ name: m[1], value: Number.parseInt(text.replace(/[uUlL]+$/, ''), text.startsWith('0x') ? 16 : 10) });
}
defines.sort((a, b) => a.name.localeCompare(b.name));

// ---- structs
const SCALARS = { __u8: ['u8', 1], __u16: ['u16', 2], __u32: ['u32', 4], __u64: ['u64', 8], __be32: ['ipv4', 4] };
const structs = [];
for (const d of decls.filter((x) => x.kind === 'RecordDecl' && x.tagUsed === 'struct' && x.completeDefinition)) {
  const fields = [];
  for (const f of (d.inner ?? []).filter((x) => x.kind === 'FieldDecl')) {
    const type = f.type.qualType;
    if (f.isBitfield) fail(`${rel}: struct ${d.name}.${f.name} is a bitfield: burrow.h has none (codecs cannot describe them)`);
    const arr = /^(__u8|__u16|__u32|__u64) ?\[(\d+)\]$/.exec(type);
    let kind;
    if (f.name.startsWith('_pad')) {
      const scalar = SCALARS[arr ? arr[1] : type];
      if (!scalar) fail(`${rel}: struct ${d.name}.${f.name}: padding of type ${type}`);
      kind = scalar[1] * (arr ? Number(arr[2]) : 1);
    } else if (SCALARS[type]) {
      kind = `'${SCALARS[type][0]}'`;
    } else if (arr && arr[1] === '__u8' && arr[2] === '6' && f.name.endsWith('mac')) {
      kind = `'mac'`;
    } else {
      fail(`${rel}: struct ${d.name}.${f.name} has type ${type}, which scripts/burrow-h.mjs does not map to a codec`);
    }
    fields.push({ name: f.name, kind });
  }
  structs.push({ cName: d.name, fields });
}

if (!enums.length || !structs.length) fail(`${rel}: found no burrow_* enums or structs`);

// ---- emit
const lines = [
  `// Generated by scripts/burrow-h.mjs from ${rel}; do not edit: change the header and run`,
  '// `npm run build`. Not committed. What the names mean: the comments in the header.',
  '',
];
for (const e of enums) {
  lines.push(`/** enum ${e.cName}: ${e.prefix}<NAME> as ${e.object}.<name>. */`);
  lines.push(`export const ${e.object} = {`);
  for (const v of e.values) lines.push(`  ${v.name.slice(e.prefix.length).toLowerCase()}: ${v.value},`);
  lines.push('} as const;');
  if (e.values.every((v, i) => v.value === i)) {
    lines.push(`/** enum ${e.cName}'s names in order: the index of a name is its value. */`);
    lines.push(`export const ${e.object}_NAMES = [${e.values.map((v) => `'${v.name.slice(e.prefix.length).toLowerCase()}'`).join(', ')}] as const;`);
  }
  for (const s of e.sentinels) lines.push(`export const ${s.name} = ${s.value};`);
  lines.push('');
}
lines.push('/** Every enum of the header: its C name, the enumerators\' prefix, the values, the sentinels left out of them. */');
lines.push('export const BURROW_ENUMS = [');
for (const e of enums) {
  lines.push(`  { cName: '${e.cName}', prefix: '${e.prefix}', values: ${e.object}, sentinels: [${e.sentinels.map((s) => `'${s.name}'`).join(', ')}] },`);
}
lines.push('] as const;');
lines.push('');
lines.push('// #defines');
for (const d of defines) lines.push(`export const ${d.name} = ${d.value};`);
lines.push('');
lines.push('/**');
lines.push(' * Struct layouts, fields in C order: a codec kind (\'ipv4\': a __be32 address; \'mac\': __u8[6]), or a');
lines.push(' * padding field\'s size in bytes. src/bpf/structs.ts builds the codecs from them.');
lines.push(' */');
lines.push('export const BURROW_STRUCTS = {');
for (const s of structs) {
  lines.push(`  ${s.cName}: { ${s.fields.map((f) => `${f.name}: ${f.kind}`).join(', ')} },`);
}
lines.push('} as const;');
const text = `${lines.join('\n')}\n`;

const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : null;
if (check) {
  if (current !== text) fail(`${path.relative(root, out)} is not what ${rel} gives: run npm run build`);
  process.exit(0);
}
// Written only when it changed, so tsc's incremental build sees no new input otherwise.
if (current !== text) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text);
}
