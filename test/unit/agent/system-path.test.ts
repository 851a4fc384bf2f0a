import { execFileSync } from 'node:child_process';
import test from 'ava';
import { systemToolPath } from '../../../src/agent/exec.js';

test('systemToolPath drops node_modules/.bin entries (npm scripts put @vercel/nft there as `nft`) and keeps the order of the rest', (t) => {
  const path = systemToolPath('/repo/node_modules/.bin:/node_modules/.bin:/opt/tools/bin:/usr/bin:/usr/sbin');
  t.false(path.split(':').some((d) => d.includes('node_modules')));
  t.deepEqual(path.split(':').slice(0, 3), ['/opt/tools/bin', '/usr/bin', '/usr/sbin']);
});

test('systemToolPath appends the system directories a minimal PATH lacks, once each', (t) => {
  const dirs = systemToolPath('/usr/bin').split(':');
  t.is(dirs[0], '/usr/bin');
  for (const d of ['/usr/sbin', '/sbin', '/bin']) t.is(dirs.filter((x) => x === d).length, 1, d);
});

test('under the test runner, nft is nftables, not the node_modules/.bin shim', (t) => {
  const which = execFileSync('sh', ['-c', 'command -v nft || true'], { encoding: 'utf8' }).trim();
  t.false(which.includes('node_modules'), `nft resolves to ${which}`);
});
