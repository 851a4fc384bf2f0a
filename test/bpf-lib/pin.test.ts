// Pinning: a map pinned here is opened by another process, which sees and changes the same map;
// programs round-trip through a pin too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BpfMap, Collection, ErrExist, ErrNotExist, Program, burrowRoute, burrowRouteKey, MapFlag } from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { ipv4Frame } from '../helpers/frames.js';
import { fixture, libEntry } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

/** Runs an ES module snippet in a fresh node process with the library imported as `b`. */
function child(code: string, ...args: string[]): string {
  const script = `import * as b from ${JSON.stringify(libEntry)};\nconst args = process.argv.slice(1);\n${code}`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8' });
}

privileged('a pinned map is shared with another process, both ways', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const m = BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 16, flags: MapFlag.noPrealloc });
  t.teardown(() => m.close());
  const pin = path.join(dir.path, 'routes');
  m.pin(pin);
  m.set({ prefixlen: 24, addr: '10.244.3.0' }, { mode: 2, flags: 1, pool: 4, remote: '10.0.1.11', vni: 4097, vtep_mac: '66:01:02:03:04:05' });

  const out = child(`
    const m = b.BpfMap.openPinned(args[0], b.burrowRouteKey, b.burrowRoute);
    const r = m.get({ prefixlen: 32, addr: '10.244.3.9' });
    m.set({ prefixlen: 32, addr: '10.244.3.9' }, { ...r, remote: '10.0.1.12' });
    console.log(JSON.stringify({ id: m.info.id, r }));
  `, pin);
  const seen = JSON.parse(out) as { id: number; r: unknown };
  t.is(seen.id, m.info.id, 'the child opened the same kernel map');
  t.deepEqual(seen.r, { mode: 2, flags: 1, pool: 4, remote: '10.0.1.11', vni: 4097, vtep_mac: '66:01:02:03:04:05' });
  t.is(m.get({ prefixlen: 32, addr: '10.244.3.9' })?.remote, '10.0.1.12', 'the child\'s write is visible here');

  m.unpin();
  t.false(fs.existsSync(pin));
  t.is(m.get({ prefixlen: 32, addr: '10.244.3.1' })?.remote, '10.0.1.11', 'the map outlives its pin while we hold it');
});

privileged('opening a missing pin is ErrNotExist; pinning over a pin is ErrExist', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  t.throws(() => BpfMap.openPinned(path.join(dir.path, 'nope'), burrowRouteKey, burrowRoute), { instanceOf: ErrNotExist });
  const m = BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 4, flags: MapFlag.noPrealloc });
  t.teardown(() => m.close());
  m.pin(path.join(dir.path, 'a'));
  t.throws(() => m.pin(path.join(dir.path, 'a')), { instanceOf: ErrExist });
});

privileged('a pinned program keeps its id and runs from the reopened fd', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const c = Collection.load(fixture('lib_xdp'));
  t.teardown(() => c.close());
  const p = c.program('xdp_swap_macs');
  const pin = path.join(dir.path, 'prog');
  p.pin(pin);
  const id = p.info().id;
  c.close(); // only the pin holds it now
  const q = Program.openPinned(pin);
  t.teardown(() => q.close());
  t.is(q.info().id, id);
  t.is(q.name, 'xdp_swap_macs');
  const frame = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', payload: 8 });
  t.deepEqual(q.run({ data: frame }).data.subarray(0, 6), frame.subarray(6, 12));
  const other = JSON.parse(child(`console.log(JSON.stringify(b.Program.openPinned(args[0]).info().id));`, pin)) as number;
  t.is(other, id);
});
