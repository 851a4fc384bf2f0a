#!/usr/bin/env node
// TCP pod → pod through burrow's TC decap on the kernel this runs on, next to plain routing and
// the kernel's own VXLAN device: the bench's lab section (bench/lab-throughput.ts), narrowed.
// Meant for the qemu guests (docs/kernels.md, "TC decap without BPF_F_ADJ_ROOM_DECAP_L3_IPV4"):
//
//   bash scripts/test-kernels.sh --kernels 6.1 --exec "$(cat <<'EOF'
//   umount /sys/fs/cgroup && mount -t tmpfs cgroup /sys/fs/cgroup && mkdir /sys/fs/cgroup/cpuacct &&
//   mount -t cgroup -o cpuacct cpuacct /sys/fs/cgroup/cpuacct && node scripts/kernels/decap-throughput.mjs
//   EOF
//   )"
//
// The bench counts CPU in a cgroup-v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct (as on this
// development machine); the guests mount cgroup2 there, hence the mounts first.
//
// Options: --rounds N (default 2), --seconds S (default 5), --scenarios "a b ..." (default routed
// burrow-ipip-tc burrow-vxlan-tc kernel-vxlan), --tests "tcp1 tcp4" (default). Needs root and the
// project built; removes every lab it makes, whatever happens.
import { runLabThroughput } from '../../dist/bench/lab-throughput.js';
import { cleanupAll, removeStale } from '../../dist/bench/scratch.js';
import { useSystemToolPath } from '../../dist/src/agent/exec.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const rounds = Number(opt('--rounds', '2'));
const seconds = Number(opt('--seconds', '5'));
const scenarios = opt('--scenarios', 'routed burrow-ipip-tc burrow-vxlan-tc kernel-vxlan').split(/[\s,]+/).filter(Boolean);
const tests = opt('--tests', 'tcp1 tcp4').split(/[\s,]+/).filter(Boolean);
const log = (line) => process.stdout.write(`${line}\n`);

useSystemToolPath();
for (const r of removeStale()) log(`removed leftover ${r}`);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}
let code = 0;
try {
  // GSO veth links only, as before issue 16's wire-like mode (the guests' images have no ethtool).
  const res = await runLabThroughput({ rounds, seconds, scenarios, tests, modes: ['gso'], log });
  log('');
  log(`scenario            ${tests.map((t) => `${t} Gbit/s (vs routed)`.padEnd(26)).join('')}retransmits`);
  for (const s of res.scenarios) {
    const cells = tests.map((t) => {
      const r = s.rate[t];
      const v = s.vsLimit[t];
      return `${r ? r.median.toFixed(2) : '-'}${v ? ` (${(v.median * 100).toFixed(0)}%)` : ''}`.padEnd(26);
    });
    log(`${s.scenario.padEnd(20)}${cells.join('')}${tests.map((t) => s.retransmits[t] ?? '-').join(' / ')}`);
  }
} catch (e) {
  log(`decap-throughput: ${e instanceof Error ? e.stack : String(e)}`);
  code = 1;
} finally {
  cleanupAll();
}
process.exit(code);
