// The lab itself (docs/agentd.md, "The lab"): what it builds, that the router drops bare pod traffic, that two
// labs run side by side, and that destroy() removes every namespace, mount and file, twice safely.
import fs from 'node:fs';

import { Lab, labNamespaces, mountsUnder } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/sh.js';
import { ping } from '../../src/lab/traffic.js';
import { assertNoReplies } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

privileged.serial('builds nodes, Calico-style pods, a router that drops pod addresses, and tears it all down', async (t) => {
  const lab = Lab.create();
  t.teardown(() => lab.destroy());
  t.regex(lab.prefix, /^bl-[0-9a-f]{6}$/);
  t.deepEqual(labNamespaces(lab.prefix).sort(), lab.namespaces().sort());
  const pod = lab.pod('node-a');
  t.is(pod.address, '192.168.0.2');
  t.regex(sh(['ip', '-n', pod.ns, 'route']), /default via 169\.254\.1\.1 dev eth0/);
  t.regex(sh(['ip', '-n', lab.node('node-a').ns, 'route']), /192\.168\.0\.2 dev cali0 scope link/);
  t.is(mountsUnder(lab.dir).length, 3, 'one bpffs per node pin root');

  t.is((await ping(lab.node('node-a').ns, '10.0.2.10', { count: 2, interval: 0.05 })).received, 2, 'nodes route through the router');
  t.is((await ping(pod.ns, '10.0.1.10', { count: 2, interval: 0.05 })).received, 2, 'pod reaches its node');
  assertNoReplies(t, await ping(pod.ns, lab.pod('node-b').address, { count: 2, interval: 0.05 }), 2, 'no agent: no route to other pods on the segment');
  assertNoReplies(t, await ping(pod.ns, lab.pod('node-c').address, { count: 2, interval: 0.05 }), 2, 'no agent: pod-c unreachable');
  t.true(lab.routerDrops().podSource >= 2, 'bare pod packets die at the router');

  const other = Lab.create();
  t.teardown(() => other.destroy());
  t.not(other.prefix, lab.prefix);
  t.is((await ping(other.node('node-a').ns, '10.0.2.10', { count: 1 })).received, 1, 'a second lab with the same addresses works alongside');

  lab.destroy();
  t.deepEqual(labNamespaces(lab.prefix), []);
  t.false(fs.existsSync(lab.dir));
  t.deepEqual(mountsUnder(lab.dir), []);
  t.notThrows(() => lab.destroy(), 'idempotent');
  t.is(labNamespaces(other.prefix).length, other.namespaces().length, 'the other lab is untouched');
});
