import { Command } from 'commander';
import { z } from 'zod';

import { Collection, TcAction, XdpAction, nameOf, type RunResult } from '../../bpf/index.js';
import { MAP_NAMES, objectPath, openDatapathMaps, type DatapathMaps, type DatapathProgramName } from '../../agent/datapath.js';
import { cidrOf, peerView, routeView } from '../../agent/map-views.js';
import { frameLayers } from '../frame-view.js';
import { globalOptions, intOption, ipv4Option, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import {
  codecTables,
  compareWithPrediction,
  ingressFrame,
  ingressSender,
  podFrame,
  POD_GATEWAY_MAC,
  POD_MAC,
  predict,
  type CounterDelta,
} from '../trace-packet.js';
import { moved, readCounters, renderTrace, verdictOf, type TraceView } from '../views.js';

const traceOptions = z.strictObject({
  ...globalOptions,
  src: ipv4Option,
  dst: ipv4Option,
  proto: z.enum(['tcp', 'udp', 'icmp']),
  sport: intOption(0, 65535),
  dport: intOption(0, 65535),
  hook: z.enum(['egress', 'ingress']),
  tos: intOption(0, 255),
  ttl: intOption(0, 255),
  size: intOption(28, 9000),
  df: z.boolean(),
  outerSrc: ipv4Option.optional(),
  mode: z.enum(['ipip', 'vxlan']).optional(),
  vni: intOption(0, 0xffffff).optional(),
  xdp: z.boolean().default(false),
  output: outputOption,
}).superRefine((o, ctx) => {
  if (o.hook !== 'egress') return;
  for (const key of ['outerSrc', 'mode', 'vni'] as const) {
    if (o[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only with --hook ingress' });
  }
  if (o.xdp) ctx.addIssue({ code: 'custom', path: ['xdp'], message: 'only with --hook ingress (egress runs tc_encap)' });
});

type TraceOptions = z.output<typeof traceOptions>;

export function traceCommand(): Command {
  return new Command('trace')
    .description('Send one packet through a datapath program (BPF_PROG_TEST_RUN) on the live maps and show what it did, next to what the codec predicts')
    .requiredOption('--src <ip>', 'inner (pod) source address')
    .requiredOption('--dst <ip>', 'inner (pod) destination address')
    .option('--proto <proto>', 'tcp, udp or icmp', 'tcp')
    .option('--sport <n>', 'source port (icmp: echo identifier)', '40000')
    .option('--dport <n>', 'destination port', '80')
    .option('--hook <hook>', 'egress: a pod packet into tc_encap; ingress: the frame a peer sends, into tc_decap', 'egress')
    .option('--tos <n>', 'inner TOS byte (DSCP and ECN)', '0')
    .option('--ttl <n>', 'inner TTL', '64')
    .option('--size <n>', 'inner IPv4 total length in bytes', '100')
    .option('--no-df', 'clear the inner DF bit (the outer IP ID is then random)')
    .option('--outer-src <ip>', 'ingress: the sending node (default: the remote of the route covering --src)')
    .option('--mode <mode>', 'ingress: ipip or vxlan (default: what that peer may send, preferring the route\'s mode)')
    .option('--vni <n>', 'ingress: VXLAN VNI (default: the one that peer is allowed)')
    .option('--xdp', 'ingress: run xdp_decap instead of tc_decap')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
The program is loaded from build/bpf with the maps pinned under --pin-root (nothing is attached)
and run once on a frame built by the codec. The test run uses the REAL maps: its packet moves the
live stats counters, as \`agentctl stats\` will show. Shown: the input and output frames layer by
layer, the matched route (egress) or peer (ingress), the verdict, the counters that moved, and
whether the reference codec (src/codec) predicts the same verdict, counter and output bytes.

Examples:
  agentctl trace --src 192.168.0.5 --dst 192.168.2.7
  agentctl trace --src 192.168.2.7 --dst 192.168.0.5 --hook ingress --proto icmp
  agentctl trace --src 192.168.9.9 --dst 192.168.0.5 --hook ingress --outer-src 10.9.9.9 -o json | jq .verdict`,
    )
    .action((_opts: unknown, cmd: Command) => {
      const opts = parseOptions(traceOptions, cmd.optsWithGlobals());
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const view = runTrace(opts, maps);
        process.stdout.write(opts.output === 'json' ? renderJson(view) : renderTrace(view));
      } finally {
        maps.close();
      }
    });
}

/** Builds the frame, runs the program once on the live maps, and compares with the codec. */
function runTrace(opts: TraceOptions, maps: DatapathMaps): TraceView {
  const config = maps.config.get(0);
  if (!config) throw new Error(`the config map under ${opts.pinRoot} has no entry 0`);
  const routeEntries = maps.routes.entriesBatch();
  const tables = codecTables(routeEntries, maps.peers.entriesBatch(), config, { nexthops: maps.nexthops.entriesBatch(), pmtu: maps.pmtu.entriesBatch() });
  const sender = opts.hook === 'ingress' ? ingressSender(opts, tables) : undefined;
  const frame = sender ? ingressFrame(opts, tables, sender) : podFrame(opts, { src: POD_MAC, dst: POD_GATEWAY_MAC });
  const hook = opts.xdp ? 'xdp' : 'tc';
  const program: DatapathProgramName = opts.hook === 'egress' ? 'tc_encap' : opts.xdp ? 'xdp_decap' : 'tc_decap';

  const coll = Collection.load(objectPath(program), { pinRoot: opts.pinRoot, pinMaps: [...MAP_NAMES], name: program });
  let counters: CounterDelta[];
  let run: RunResult;
  try {
    const before = readCounters(maps);
    run = coll.program(program).run({ data: frame });
    counters = moved(before, readCounters(maps));
  } finally {
    coll.close();
  }

  const prediction = predict(opts.hook, frame, tables, run.data, opts.xdp);
  const matched = prediction.route && routeEntries.find(([k]) => cidrOf(k) === prediction.route!.cidr);
  const peer = sender ? maps.peers.get(sender.outerSrc) : undefined;
  const actions: Record<string, number> = opts.xdp ? XdpAction : TcAction;
  return {
    hook: opts.hook,
    program,
    pinRoot: opts.pinRoot,
    input: { length: frame.length, layers: frameLayers(frame, config.vxlan_port) },
    sender: sender ? { outerSrc: sender.outerSrc, mode: sender.mode, vni: sender.vni } : null,
    route: matched ? routeView(cidrOf(matched[0]), matched[1]) : null,
    peer: sender && peer ? peerView(sender.outerSrc, peer) : null,
    retval: run.retval,
    verdict: verdictOf(hook, run.retval),
    action: `${opts.xdp ? 'XDP' : 'TC_ACT'}_${nameOf(actions, run.retval).toUpperCase()}`,
    counters,
    output: { length: run.data.length, layers: frameLayers(run.data, config.vxlan_port) },
    codec: {
      verdict: prediction.result.verdict,
      retval: prediction.result.retval,
      counter: prediction.result.counter.toLowerCase(),
      outputLength: prediction.result.output.length,
    },
    ...compareWithPrediction({ retval: run.retval, output: run.data, moved: counters }, prediction.result, frame.length),
  };
}
