// One counter vocabulary: the codec's STAT_NAMES, the eBPF library's burrowStatNames and enum
// burrow_stat in bpf/include/burrow.h must list the same counters in the same order. The enum is
// read from the header text (clang emits no BTF for an enum no program names as a type), with
// implicit values counted the way C counts them. The compiled objects' stats maps must have one
// slot per counter.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { BURROW_STAT_MAX, BurrowStat, CollectionSpec, burrowStatNames } from '../../src/bpf/index.js';
import { STAT_COUNT, STAT_NAMES, statIndex } from '../../src/codec/index.js';
import { repoRoot } from '../helpers/paths.js';
import { PROGRAM_NAMES } from './harness/datapath.js';

/** Enumerators of `enum name { ... }` in C source: [name, value], implicit values counted. */
function parseEnum(source: string, name: string): [string, number][] {
  const body = new RegExp(`enum\\s+${name}\\s*\\{([\\s\\S]*?)\\}\\s*;`).exec(source)?.[1];
  if (body === undefined) throw new Error(`enum ${name} not found`);
  const items = body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').split(',').map((s) => s.trim()).filter(Boolean);
  let next = 0;
  return items.map((item) => {
    const m = /^([A-Za-z_]\w*)\s*(?:=\s*(\S.*))?$/.exec(item);
    if (!m?.[1]) throw new Error(`cannot read enumerator "${item}" of enum ${name}`);
    if (m[2] !== undefined) {
      if (!/^\d+$/.test(m[2])) throw new Error(`enumerator ${m[1]} = ${m[2]}: only decimal values are expected in enum ${name}`);
      next = Number(m[2]);
    }
    return [m[1], next++];
  });
}

const header = readFileSync(path.join(repoRoot, 'bpf/include/burrow.h'), 'utf8');
const enumerators = parseEnum(header, 'burrow_stat');
const counters = enumerators.filter(([n]) => n !== 'BURROW_STAT__MAX');
const headerNames = counters.map(([n]) => n.replace(/^BURROW_STAT_/, ''));

test('enum burrow_stat numbers its counters 0, 1, 2, … and ends with BURROW_STAT__MAX', (t) => {
  t.deepEqual(counters.map(([, v]) => v), counters.map((_, i) => i));
  t.deepEqual(enumerators.at(-1), ['BURROW_STAT__MAX', counters.length]);
  t.true(counters.every(([n]) => n.startsWith('BURROW_STAT_')));
});

test('the codec\'s STAT_NAMES are enum burrow_stat in order', (t) => {
  t.deepEqual([...STAT_NAMES], headerNames);
  t.is(counters.length, STAT_COUNT as number);
  for (const [name, value] of counters) t.is(statIndex(name.replace(/^BURROW_STAT_/, '') as never), value, name);
});

test('the eBPF library\'s burrowStatNames (lower case) are the same counters in the same order', (t) => {
  t.deepEqual(burrowStatNames.map((n) => n.toUpperCase()), [...STAT_NAMES]);
  t.deepEqual(burrowStatNames.map((n) => n.toUpperCase()), headerNames);
  t.is(counters.length, BURROW_STAT_MAX);
  for (const [name, value] of counters) t.is(BurrowStat[name.replace(/^BURROW_STAT_/, '').toLowerCase() as keyof typeof BurrowStat] as number, value, name);
});

test('every datapath object has one stats slot per counter', (t) => {
  for (const program of PROGRAM_NAMES) {
    const spec = CollectionSpec.open(path.join(repoRoot, 'build/bpf', `${program}.bpf.o`));
    try {
      t.is(spec.map('stats').maxEntries, counters.length, program);
    } finally {
      spec.close();
    }
  }
});
