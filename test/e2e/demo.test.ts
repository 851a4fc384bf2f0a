// The demo (`npm run demo`) end to end: every step succeeds, it cleans up after itself, and it
// stays well under a minute.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { labNamespaces, listLabs } from '../../src/lab/lab.js';
import { repoRoot } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

privileged.serial('the demo walks through Always, CrossSubnet and Konvoy VXLAN and removes its lab', (t) => {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist/scripts/demo.js')], { encoding: 'utf8', timeout: 90_000 });
  const seconds = (Date.now() - started) / 1000;
  t.is(r.status, 0, r.stdout + r.stderr);
  t.is((r.stdout.match(/\] ok {3}/g) ?? []).length, 9, 'nine connectivity steps, all ok');
  t.notRegex(r.stdout, /FAIL|MISMATCH/);
  t.regex(r.stdout, /ROUTES \(4\)/, 'maps dump printed: node-b\'s and node-c\'s blocks, the pool and node-a\'s own block');
  t.regex(r.stdout, /encap_vxlan/, 'stats printed');
  const prefix = /lab (bl-[0-9a-f]+) up/.exec(r.stdout)?.[1];
  t.truthy(prefix);
  t.false(listLabs().includes(prefix!), 'its lab is gone');
  t.deepEqual(labNamespaces(prefix!), []);
  t.true(seconds < 60, `took ${seconds.toFixed(1)} s`);
  t.log(`demo took ${seconds.toFixed(1)} s`);
});
