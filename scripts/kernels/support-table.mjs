#!/usr/bin/env node
// The kernel support table (docs/kernels.md, "Support table"), made from a matrix run, never by
// hand: each guest's log (build/test-kernels/<release>.log) holds the features the guest probed
// (`@@burrow-kernels feature {json}`, from dist/scripts/kernel-features.js) and each tier's closing
// line (`@@burrow-kernels tier <tier> rc=… secs=…: N passed, N failed`); this machine's own kernel
// is probed here. Writes the markdown table to stdout, or with --readme FILE between the
// `<!-- kernel-support:begin -->` and `<!-- kernel-support:end -->` markers of FILE.
//
//   node scripts/kernels/support-table.mjs [--readme README.md] LOG...
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
let readme;
const logs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--readme') readme = args[++i];
  else logs.push(args[i]);
}

/** One column: a kernel, its probed features and its tiers' results. */
function fromLog(file) {
  const text = fs.readFileSync(file, 'utf8');
  const col = { kernel: path.basename(file, '.log'), features: new Map(), tiers: new Map() };
  // A directory tier (`e2e`) runs many files at once and ava names each test `<file> › <title>`:
  // its results are split by file, since the files are otherwise run as tiers of their own.
  let current;
  let byFile = new Map();
  for (const line of text.split('\n')) {
    const test = /^\s+(✔|✘) ([\w-]+) › /.exec(line);
    if (test && current === 'e2e') {
      const n = byFile.get(test[2]) ?? { passed: 0, failed: 0 };
      n[test[1] === '✔' ? 'passed' : 'failed']++;
      byFile.set(test[2], n);
      continue;
    }
    const at = line.indexOf('@@burrow-kernels ');
    if (at < 0) continue;
    const rest = line.slice(at + '@@burrow-kernels '.length).trim();
    let m;
    if ((m = /^feature (\{.*\})$/.exec(rest))) {
      const f = JSON.parse(m[1]);
      col.kernel = f.kernel ?? col.kernel;
      col.features.set(f.name, f);
    } else if ((m = /^tier-start (\S+)/.exec(rest))) {
      current = m[1];
      byFile = new Map();
    } else if ((m = /^tier (\S+) rc=(\S+) secs=([\d.]+): (.*)$/.exec(rest)) && m[1] !== 'exec') {
      if (m[1] === 'e2e' && byFile.size > 0) {
        // A tier cut by its timeout counts only the tests it reached (the README says so).
        const cut = m[2] === '124' ? ` cut at ${Math.round(Number(m[3]))} s` : '';
        for (const [f, n] of byFile) col.tiers.set(`e2e/${f}.test.js`, `${n.passed} passed, ${n.failed} failed (one e2e tier${cut})`);
      } else {
        col.tiers.set(m[1], `${m[4]} (${Math.round(Number(m[3]))} s)`);
      }
      current = undefined;
    } else if ((m = /^info kernel=(\S+)/.exec(rest))) {
      col.kernel = m[1];
    }
  }
  return col;
}

function host() {
  const out = execFileSync(process.execPath, [path.join(root, 'dist/scripts/kernel-features.js'), '--lines'], { encoding: 'utf8' });
  const col = { kernel: `${os.release()} (this machine)`, features: new Map(), tiers: new Map() };
  for (const line of out.split('\n')) if (line.startsWith('feature ')) { const f = JSON.parse(line.slice(8)); col.features.set(f.name, f); }
  return col;
}

// Several logs of one kernel (e.g. runs of different tiers) make one column.
const byKernel = new Map();
for (const col of logs.map(fromLog)) {
  const had = byKernel.get(col.kernel);
  if (!had) byKernel.set(col.kernel, col);
  else {
    for (const [k, v] of col.features) had.features.set(k, v);
    for (const [k, v] of col.tiers) had.tiers.set(k, v);
  }
}
const cols = [...byKernel.values(), host()];
const featureNames = [...new Set(cols.flatMap((c) => [...c.features.keys()]))];
const tierNames = [...new Set(cols.flatMap((c) => [...c.tiers.keys()]))];
const cell = (f) => (f ? (f.state === 'works' ? 'works' : `**${f.state}**: ${f.detail}`) : '–');
const rows = [
  ...featureNames.map((n) => [n, ...cols.map((c) => cell(c.features.get(n)))]),
  ...tierNames.map((t) => [`tests: ${t}`, ...cols.map((c) => c.tiers.get(t) ?? '–')]),
];
const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const table = [
  `| feature | ${cols.map((c) => esc(c.kernel)).join(' | ')} |`,
  `| --- | ${cols.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
].join('\n');
const block = `<!-- kernel-support:begin (scripts/kernels/support-table.mjs; do not edit by hand) -->\n${table}\n\n_From \`npm run test:kernels\` on ${new Date().toISOString().slice(0, 10)}._\n<!-- kernel-support:end -->`;

if (readme) {
  const text = fs.readFileSync(readme, 'utf8');
  const re = /<!-- kernel-support:begin[^\n]*-->[\s\S]*?<!-- kernel-support:end -->/;
  if (!re.test(text)) throw new Error(`${readme} has no kernel-support markers`);
  fs.writeFileSync(readme, text.replace(re, block));
  console.log(`kernel support table written to ${readme}`);
} else {
  console.log(block);
}
