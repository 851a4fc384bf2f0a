/**
 * The packet generator of §3, as its own process so it can be pinned to one CPU (taskset):
 *
 *   node dist/bench/xdp-generator.js <netns path> <ifname> <frame hex> <repeat> [runs]
 *
 * Joins the namespace, loads the bench helpers' xdp_tx and test-runs it with live frames on
 * <ifname> (xdp_md.ingress_ifindex): every repetition is a fresh copy of the frame sent out of
 * <ifname> into its veth peer. Prints one JSON line per run: the kernel's ns per packet.
 */
import { enterNetns, ifindexOf } from '../src/bpf/index.js';
import { helpersObject, loadObject, retryEintr, xdpMd } from './objects.js';

function main(): void {
  const [nsPath, ifname, hex, repeatArg, runsArg] = process.argv.slice(2);
  if (!nsPath || !ifname || !hex || !repeatArg) {
    process.stderr.write('usage: xdp-generator <netns path> <ifname> <frame hex> <repeat> [runs]\n');
    process.exit(2);
  }
  const helpers = loadObject(helpersObject(), 'bench_helpers');
  enterNetns(nsPath);
  const frame = Buffer.from(hex, 'hex');
  const ctx = xdpMd(frame.length, ifindexOf(ifname));
  const prog = helpers.program('xdp_tx');
  for (let i = 0; i < Number(runsArg ?? 1); i++) {
    const r = retryEintr(() => prog.run({ data: frame, ctx, ctxOutSize: 0, repeat: Number(repeatArg), batchSize: 64, xdpLiveFrames: true }));
    process.stdout.write(JSON.stringify({ nsPerPacket: r.duration, repeat: Number(repeatArg) }) + '\n');
  }
  helpers.close();
}

main();
