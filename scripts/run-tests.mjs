#!/usr/bin/env node
// Runs ava over the compiled tests, passes its output through, and closes with the line
// `N passed, N failed[, N skipped]` that CI reads (ava's own summary has another shape).
// Arguments are directories or files under dist/test to restrict the run; ones starting with `--`
// go to ava as they are (e.g. --timeout=10m, which scripts/kernels/guest.sh passes under qemu).
// dist/test/kernels (tests that need kernel modules this machine lacks; package.json's ava `files`
// leave it out of the default run) is named file by file: ava drops glob matches its `files` exclude.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const avaCli = path.join(root, 'node_modules/ava/entrypoints/cli.mjs');
const testFilesUnder = (dir) => fs.readdirSync(path.resolve(root, dir), { recursive: true }).filter((f) => String(f).endsWith('.test.js')).map((f) => path.join(dir, String(f)));
const args = process.argv.slice(2).flatMap((a) => {
  if (a.startsWith('--') || a.endsWith('.js')) return [a];
  const dir = a.replace(/\/$/, '');
  return /(^|\/)dist\/test\/kernels$/.test(dir) ? testFilesUnder(dir) : [`${dir}/**/*.test.js`];
});

// npm puts node_modules/.bin first on PATH, where `nft` is @vercel/nft (an ava dependency), not
// nftables: tests must reach the system tools (src/agent/exec.ts systemToolPath does the same).
const systemDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const pathDirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '' && !/node_modules[\\/]\.bin\/?$/.test(d));
for (const d of systemDirs) if (!pathDirs.includes(d)) pathDirs.push(d);
const env = { ...process.env, PATH: pathDirs.join(':') };

const child = spawn(process.execPath, [avaCli, '--tap', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });

let passed = 0;
let failed = 0;
let skipped = 0;
let buffer = '';
const failures = [];

function onLine(line) {
  // TAP from ava: "ok 3 - file › title", "not ok 4 - ...", "# SKIP"/"# TODO" directives.
  let m;
  if ((m = /^ok \d+ - (.*)$/.exec(line))) {
    if (/# (SKIP|TODO)/.test(m[1])) skipped++;
    else passed++;
    process.stdout.write(`  ✔ ${m[1]}\n`);
  } else if ((m = /^not ok \d+ - (.*)$/.exec(line))) {
    if (/# TODO/.test(m[1])) { skipped++; return; }
    failed++;
    failures.push(m[1]);
    process.stdout.write(`  ✘ ${m[1]}\n`);
  } else if (/^(TAP version|1\.\.\d+|# (tests|pass|fail|skip|todo) )/.test(line)) {
    // ava's own TAP totals: replaced by our closing line
  } else {
    process.stdout.write(`${line}\n`);
  }
}

child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\n')) >= 0) {
    onLine(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
  }
});

child.on('close', (code) => {
  if (buffer) onLine(buffer);
  if (code !== 0 && failed === 0) failed = 1; // ava failed outside any test (crash, timeout, no tests)
  if (failures.length) {
    process.stdout.write('\nFailed:\n');
    for (const f of failures) process.stdout.write(`  - ${f}\n`);
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(failed > 0 ? 1 : 0);
});
