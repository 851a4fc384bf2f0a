// scripts/burrow-h.mjs, which generates src/generated/burrow-h.ts from bpf/include/burrow.h before
// tsc (docs/datapath.md, "The vocabulary"): what it emits for each C construct, what it refuses,
// and that the compiled tree was generated from the header as it is now.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from '../../helpers/paths.js';

const script = path.join(repoRoot, 'scripts/burrow-h.mjs');

function withDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-h-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function generate(dir: string, header: string): { status: number | null; stderr: string; out: string } {
  fs.writeFileSync(path.join(dir, 'h.h'), `#include <linux/types.h>\n${header}\n`);
  const outFile = path.join(dir, 'out.ts');
  const r = spawnSync(process.execPath, [script, '--header', path.join(dir, 'h.h'), '--out', outFile], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, out: fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '' };
}

test('enums, sentinels, #defines and struct layouts come out with the values clang gives', (t) => {
  withDir((dir) => {
    const r = generate(dir, `
      enum burrow_kind { BURROW_KIND_A = 1 << 2, BURROW_KIND_B, BURROW_KIND_LONG_NAME = 3 * 3 };
      enum burrow_ctr { BURROW_CTR_X, BURROW_CTR_Y, BURROW_CTR__MAX };
      #define BURROW_LIMIT 0x40
      #define BURROW_OTHER 7
      struct burrow_thing { __be32 addr; __u8 mode; __u8 _pad[1]; __u16 port; __u8 peer_mac[6]; __u16 _pad2; __u64 n; };`);
    t.is(r.status, 0, r.stderr);
    t.true(r.out.includes('export const BURROW_KIND = {\n  a: 4,\n  b: 5,\n  long_name: 9,\n} as const;'), r.out);
    t.true(r.out.includes("export const BURROW_CTR_NAMES = ['x', 'y'] as const;"), r.out);
    t.true(r.out.includes('export const BURROW_CTR__MAX = 2;'), r.out);
    t.false(r.out.includes('BURROW_KIND_NAMES'), 'values 4, 5, 9 are no index list');
    t.true(r.out.includes('export const BURROW_LIMIT = 64;'), r.out);
    t.true(r.out.includes('export const BURROW_OTHER = 7;'), r.out);
    t.true(r.out.includes("burrow_thing: { addr: 'ipv4', mode: 'u8', _pad: 1, port: 'u16', peer_mac: 'mac', _pad2: 2, n: 'u64' },"), r.out);
    t.true(r.out.includes("{ cName: 'burrow_ctr', prefix: 'BURROW_CTR_', values: BURROW_CTR, sentinels: ['BURROW_CTR__MAX'] },"), r.out);
  });
});

test('a field type, a #define or an enum it cannot carry over is refused by name, and nothing is written', (t) => {
  withDir((dir) => {
    const base = 'enum burrow_m { BURROW_M_A, BURROW_M_B };';
    const cases: [string, RegExp][] = [
      [`${base} struct burrow_s { __u8 key[4]; };`, /struct burrow_s\.key has type __u8\[4\]/],
      [`${base} struct burrow_s { __u32 n; };\n#define BURROW_SHIFTED (1 << 3)`, /#define BURROW_SHIFTED \(1 << 3\): only integer literals/],
      [`enum burrow_m { BURROW_A, OTHER_B }; struct burrow_s { __u32 n; };`, /enum burrow_m: its enumerators share no BURROW_<NAME>_ prefix/],
      [`${base} struct burrow_s { __u32 n : 4; __u32 m : 28; };`, /struct burrow_s\.n is a bitfield/],
    ];
    for (const [header, message] of cases) {
      const r = generate(dir, header);
      t.is(r.status, 1, header);
      t.regex(r.stderr, message);
      t.is(r.out, '', header);
    }
  });
});

test('the compiled tree was generated from bpf/include/burrow.h as it is now (--check)', (t) => {
  const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  t.is(out, '');
  withDir((dir) => {
    const stale = path.join(dir, 'stale.ts');
    fs.writeFileSync(stale, '// an older header\n');
    const r = spawnSync(process.execPath, [script, '--check', '--out', stale], { encoding: 'utf8' });
    t.is(r.status, 1);
    t.regex(r.stderr, /is not what bpf\/include\/burrow\.h gives/);
    t.is(fs.readFileSync(stale, 'utf8'), '// an older header\n');
  });
});
