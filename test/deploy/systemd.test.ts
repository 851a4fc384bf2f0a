// deploy/systemd/burrow-agentd.service (docs/operations.md, "systemd"): hardened to an exposure
// of at most 5 by `systemd-analyze security` (offline: no running systemd needed), no restart on
// exit 1/2, and its Node check passes on this Node and refuses an older one with a clear message.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { repoRoot } from '../helpers/paths.js';

const UNIT = path.join(repoRoot, 'deploy/systemd/burrow-agentd.service');
const text = fs.readFileSync(UNIT, 'utf8');
const setting = (key: string): string[] => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

test('systemd-analyze security scores the unit at most 5 (OK)', (t) => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
  const m = /Overall exposure level for burrow-agentd\.service: (\d+\.\d+) (\w+)/.exec(r.stdout + r.stderr);
  t.truthy(m, r.stdout + r.stderr);
  t.log(`exposure ${m![1]} ${m![2]}`);
  t.true(Number(m![1]) <= 5, r.stdout);
});

test('exit 1 and 2 are not restarted; failures are, a bounded number of times', (t) => {
  t.deepEqual(setting('Restart'), ['on-failure']);
  t.deepEqual(setting('RestartPreventExitStatus'), ['1 2']);
  t.deepEqual([setting('StartLimitIntervalSec'), setting('StartLimitBurst')], [['120'], ['5']]);
});

/** The JavaScript of ExecStartPre's `node -e "…"`, unescaped as systemd does. */
function nodeCheck(): string {
  const pre = setting('ExecStartPre')[0]!;
  const m = /^\/usr\/bin\/env node -e "((?:[^"\\]|\\.)*)"$/.exec(pre);
  if (!m) throw new Error(`unexpected ExecStartPre: ${pre}`);
  return m[1]!.replace(/\\(.)/g, '$1');
}

test('ExecStartPre: this Node passes; Node 18 is refused with a message naming the requirement', (t) => {
  const ok = spawnSync(process.execPath, ['-e', nodeCheck()], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
  const old = spawnSync(process.execPath, ['-e', `Object.defineProperty(process.versions, 'node', { value: '18.19.0' }); Object.defineProperty(process, 'version', { value: 'v18.19.0' });\n${nodeCheck()}`], { encoding: 'utf8' });
  t.is(old.status, 2);
  t.regex(old.stderr, /^burrow needs Node >= 20\.19; \S+ is v18\.19\.0: install Node 20/);
  t.regex(setting('ExecStart')[0]!, /^\/usr\/bin\/env node \/opt\/burrow\/dist\/src\/agent\/agentd\.js /);
});
