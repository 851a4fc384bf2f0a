// MTU (issue 5, g): the kernel routes to remote blocks carry the tunnel MTU (uplink 1500 less 20
// for IPIP, 50 for VXLAN), so a pod's full-size DF packet gets ICMP frag-needed naming that MTU,
// the largest packet that fits gets through, and TCP with 1 MiB writes arrives intact.
import { ping } from '../../src/lab/traffic.js';
import { assertNoReplies, assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const cases = [
  { mode: 'ipip', pool: { ipipMode: 'Always' }, mtu: 1480 },
  { mode: 'vxlan', pool: { vxlanMode: 'Always' }, mtu: 1450 },
] as const;

for (const { mode, pool, mtu } of cases) {
  privileged.serial(`${mode}: ping -M do -s 1472 gets frag-needed with mtu ${mtu}; -s ${mtu - 28} gets through; TCP intact`, async (t) => {
    const { lab } = await labWithAgents(t, { pool });
    for (const to of ['node-b', 'node-c']) {
      const src = lab.pod('node-a').ns;
      const dst = lab.pod(to).address;
      const tooBig = await ping(src, dst, { count: 2, interval: 0.1, size: 1472, dontFragment: true });
      assertNoReplies(t, tooBig, 2, `1500-byte packets to ${to} do not fit`);
      t.is(tooBig.fragNeededMtu, mtu, `frag-needed names the tunnel MTU:\n${tooBig.output}`);
      const fits = await ping(src, dst, { count: 3, interval: 0.05, size: mtu - 28, dontFragment: true });
      t.is(fits.received, 3, `${mtu}-byte packets to ${to} get through:\n${fits.output}`);
    }
    await assertPodsConnected(t, lab, 'node-a', 'node-c');
    t.is(counters(lab, 'node-a').drop_too_big, 0, 'nothing reached the datapath too big: the route MTU caught it');
  });
}
