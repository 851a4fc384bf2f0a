// Pod ↔ pod over each tunnel with each decap hook (issue 5, a and b): node-a ↔ node-b share a
// segment, node-a ↔ node-c cross the router that drops bare pod addresses. Ping and 20 MiB TCP
// streams with a sha256 check both ways; captures on the router and on the shared segment show
// every pod packet inside the tunnel (node addresses outside, pod addresses inside, VXLAN to
// port 4789 with VNI 4096) and none bare; counters show encap and decap on both ends, no drops.
import path from 'node:path';

import { checkUnderlay, describePacket } from '../../src/lab/underlay.js';
import { startCapture } from '../../src/lab/traffic.js';
import { MODE_HOOK_CASES as cases, assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

for (const { mode, hook } of cases) {
  privileged.serial(`${mode}Mode Always, ${hook.toUpperCase()} decap: pods on a, b, c reach each other only through the tunnel`, async (t) => {
    const pool = mode === 'ipip' ? { ipipMode: 'Always' as const } : { vxlanMode: 'Always' as const };
    const { lab, agents } = await labWithAgents(t, { pool, agent: { decapHook: hook } });
    for (const a of Object.values(agents)) t.is(a.reconciles()[0]?.decapHook, hook, `${a.node.name} decaps with ${hook}`);

    const router = await startCapture(lab.routerNs, path.join(lab.dir, 'router.pcap'));
    const segment = await startCapture(lab.segmentNs('seg1'), path.join(lab.dir, 'seg1.pcap'));
    await assertPodsConnected(t, lab, 'node-a', 'node-b');
    await assertPodsConnected(t, lab, 'node-a', 'node-c');
    const expect = { podCidr: lab.topology.podCidr, nodeAddresses: lab.topology.nodes.map((n) => n.address), mode };
    for (const [where, capture] of [['router', router], ['seg1', segment]] as const) {
      const seen = checkUnderlay(await capture.stop(), expect);
      t.true(seen.tunnelled > 100, `${where}: ${seen.tunnelled} tunnelled pod packets`);
      t.deepEqual(seen.violations.slice(0, 5).map(describePacket), [], `${where}: pod addresses outside the tunnel`);
    }
    t.deepEqual(lab.routerDrops(), { podSource: 0, podDestination: 0 }, 'nothing bare reached the router');

    for (const node of ['node-a', 'node-b', 'node-c']) {
      const c = counters(lab, node);
      t.true(c[`encap_${mode}`]! > 0 && c[`decap_${mode}`]! > 0, `${node} encapsulated and decapsulated ${mode}: ${JSON.stringify(c)}`);
      const drops = Object.entries(c).filter(([k, v]) => k.startsWith('drop_') && v > 0);
      t.deepEqual(drops, [], `${node} dropped nothing`);
    }
  });
}
