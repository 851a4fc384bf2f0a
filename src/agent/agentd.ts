#!/usr/bin/env node
/**
 * agentd: burrow's node agent. Run it inside the node's network namespace (on a host: the host's
 * own; in the lab: `ip netns exec <node-ns> agentd ...`).
 *
 *   agentd [--node NAME] --manifests PATH [--manifests PATH ...] [--uplink IF[,IF...]] [--pin-root DIR]
 *          [--decap-hook xdp|tc|auto] [--decap-source-check strict|pool] [--listen ADDR]
 *          [--cleanup-on-exit] [--bpf-dir DIR]
 *   agentd [--node NAME] --datastore kubernetes [--kubeconfig FILE] …
 *   agentd [--node NAME] --datastore etcdv3 --etcd-endpoints URL[,URL…] [--etcd-ca-cert-file F
 *          --etcd-cert-file F --etcd-key-file F] …
 *
 * Exit codes: 0 stopped by a signal, 1 invalid options or manifests at start, 3 runtime error.
 */
import os from 'node:os';

import { Command, CommanderError } from 'commander';
import { z } from 'zod';

import { CompileError, DECAP_SOURCE_CHECKS } from '../compile/index.js';
import { addDatastoreOptions, datastoreOptionFields, datastoreSpec, DatastoreOptionError, type DatastoreSpec } from '../engine/datastore.js';

import { Daemon, InvalidStartError } from './daemon.js';
import { DEFAULT_PIN_ROOT, setObjectDir } from './datapath.js';
import { createRootLogger, LOG_LEVELS } from './logger.js';
import { lockPinRoot, type PinRootLock } from './pin-root.js';
import { listenField } from './metrics.js';
import { useSystemToolPath } from './exec.js';
import { NftTableWatch } from './nft-watch.js';
import { DEFAULT_NAT_TABLE } from './reconcile.js';

const ifname = z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'must be an interface name of 1-15 letters, digits, _ . -');

const AgentdOptions = z.strictObject({
  node: z.string().min(1),
  manifests: z.array(z.string().min(1)).optional(),
  ...datastoreOptionFields,
  uplink: z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(ifname).min(1)).optional(),
  pinRoot: z.string().startsWith('/', 'must be an absolute path'),
  decapHook: z.enum(['xdp', 'tc', 'auto']),
  decapSourceCheck: z.enum(DECAP_SOURCE_CHECKS),
  tunnelDevice: ifname,
  listen: listenField().optional(),
  cleanupOnExit: z.boolean().default(false),
  debounce: z.coerce.number().int().min(0).max(60_000),
  resync: z.coerce.number().int().min(0),
  routeRefresh: z.coerce.number().int().min(0),
  peerGrace: z.coerce.number().int().min(0),
  acceptAhead: z.coerce.number().int().min(0),
  pmtuExpiry: z.coerce.number().int().min(1000).max(86_400_000),
  nexthops: z.enum(['on', 'off']),
  vxlanGro: z.enum(['auto', 'on', 'off']),
  logLevel: z.enum(LOG_LEVELS),
  bpfDir: z.string().min(1).optional(),
});

function buildCommand(): Command {
  return addDatastoreOptions(new Command('agentd')
    .description('burrow node agent: keeps the eBPF IP-in-IP/VXLAN datapath, kernel routes and NAT in line with the manifests'))
    .option('--node <name>', 'this node\'s name (a Calico Node); default $NODENAME, then the hostname', process.env['NODENAME'] || os.hostname())
    .option('--manifests <path...>', 'manifest files or directories, watched (--datastore file)')
    .option('--uplink <if[,if...]>', 'underlay interface(s), comma-separated; decap runs on each; with several (or the node address on a loopback/dummy) tunnel packets leave by the routes\' choice (default: the one holding the node address; when that is a loopback or dummy, every interface with a route via a gateway)')
    .option('--pin-root <dir>', 'bpffs directory for maps and links (bpffs is mounted there if needed)', DEFAULT_PIN_ROOT)
    .option('--decap-hook <hook>', 'xdp, tc, or auto (TC on veth and devices without native XDP)', 'auto')
    .option('--decap-source-check <check>', 'inner source of a decapsulated packet: strict (a block of the node that sent it, or that node) or pool (any IPPool address but our own blocks: IPAM that borrows addresses)', 'strict')
    .option('--tunnel-device <name>', 'the tunnel device agentd creates', 'burrow0')
    .option('--listen <addr>', 'serve /metrics and the probes (/livez, /readyz, /startupz, /healthz) on PORT, :PORT or HOST:PORT (default host 127.0.0.1; 0.0.0.0:PORT for Prometheus on other hosts: docs/operations.md)')
    .option('--cleanup-on-exit', 'on SIGTERM/SIGINT remove everything instead of leaving the datapath forwarding')
    .option('--debounce <ms>', 'wait this long after a manifest change before reconciling', '200')
    .option('--resync <ms>', 'compare the maps with what was written at this interval and repair drift (0: never)', '30000')
    .option('--route-refresh <ms>', 'compare kernel routes and nft too on the first resync after this long (0: every resync)', '90000')
    .option('--accept-ahead <ms>', 'on a tunnel-mode change, accept the new modes this long before sending them', '1000')
    .option('--peer-grace <ms>', 'then keep accepting a peer\'s old modes this long', '5000')
    .option('--pmtu-expiry <ms>', 'forget a path MTU learned from ICMP frag-needed after this long (as the kernel\'s mtu_expires; docs/datapath.md, "Path MTU")', '600000')
    .option('--nexthops <on|off>', 'keep each peer\'s next hop (device, MACs, MTU) in the nexthops map, so the encap programs skip the kernel\'s route and neighbour lookups; off: they ask the kernel per packet (docs/datapath.md, "Next hops")', 'on')
    .option('--vxlan-gro <auto|on|off>', 'tc_decap sends decapsulated VXLAN carrying TCP through the tunnel device, whose GRO merges the inner segments (the uplink\'s GRO merges no VXLAN without a VXLAN socket); auto: on unless an uplink is a veth carrying GSO segments (docs/datapath.md, "VXLAN through the tunnel device\'s GRO")', 'auto')
    .option('--log-level <level>', LOG_LEVELS.join(', '), 'info')
    .option('--bpf-dir <dir>', 'the compiled eBPF objects (default $BURROW_BPF_DIR, else build/bpf; docs/operations.md, "Upgrades")')
    .exitOverride();
}

async function main(argv: string[]): Promise<void> {
  useSystemToolPath();
  const cmd = buildCommand();
  try {
    cmd.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    throw e;
  }
  const parsed = AgentdOptions.safeParse(cmd.opts());
  if (!parsed.success) {
    for (const i of parsed.error.issues) process.stderr.write(`agentd: --${i.path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}\n`);
    process.exit(2);
  }
  const o = parsed.data;
  const usage = (message: string) => {
    process.stderr.write(`agentd: ${message}\n`);
    process.exit(2);
  };
  if (o.datastore === 'file' && (!o.manifests || o.manifests.length === 0)) usage('--manifests is required with --datastore file');
  let datastore: DatastoreSpec;
  try {
    datastore = datastoreSpec(o);
  } catch (e) {
    if (!(e instanceof DatastoreOptionError)) throw e;
    return usage(e.message);
  }
  const log = createRootLogger(o.logLevel, { node: o.node });
  if (o.bpfDir) setObjectDir(o.bpfDir);
  // One agentd (or one changing agentctl) per pin root: a second is refused, naming the first's PID.
  let lock: PinRootLock;
  try {
    lock = lockPinRoot(o.pinRoot, 'agentd');
  } catch (e) {
    log.fatal({ err: e }, `agentd could not start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(3);
  }
  const daemon = new Daemon({
    node: o.node,
    manifests: o.manifests ?? [],
    datastore,
    uplink: o.uplink,
    pinRoot: o.pinRoot,
    decapHook: o.decapHook,
    decapSourceCheck: o.decapSourceCheck,
    tunnelDevice: o.tunnelDevice,
    listen: o.listen,
    cleanupOnExit: o.cleanupOnExit,
    debounceMs: o.debounce,
    resyncMs: o.resync,
    routeRefreshMs: o.routeRefresh,
    peerGraceMs: o.peerGrace,
    acceptAheadMs: o.acceptAhead,
    pmtuExpiryMs: o.pmtuExpiry,
    nexthops: o.nexthops === 'on',
    vxlanGro: o.vxlanGro,
    log,
  });
  // `nft flush ruleset` (Debian's `systemctl reload nftables`) removes burrow's table: put it back at once.
  const nftWatch = new NftTableWatch({
    family: 'ip',
    table: DEFAULT_NAT_TABLE,
    onGone: () => {
      log.warn(`nft table ip ${DEFAULT_NAT_TABLE} was removed (nft flush ruleset?): resyncing`);
      daemon.resyncKernel(`nft table ip ${DEFAULT_NAT_TABLE} removed`);
    },
    log: log.child({ component: 'nft-watch' }),
  });
  const stopOn = (signal: NodeJS.Signals) =>
    process.once(signal, () => {
      nftWatch.stop();
      daemon
        .stop(signal)
        .then(() => {
          lock.release();
          process.exit(0);
        })
        .catch((e: unknown) => {
          log.error({ err: e }, 'stopping failed');
          lock.release();
          process.exit(3);
        });
    });
  stopOn('SIGTERM');
  stopOn('SIGINT');
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading');
    daemon.trigger('SIGHUP');
  });
  try {
    await daemon.start();
    nftWatch.start();
  } catch (e) {
    log.fatal({ err: e }, `agentd could not start: ${e instanceof Error ? e.message : String(e)}`);
    lock.release();
    process.exit(e instanceof CompileError || e instanceof InvalidStartError ? 1 : 3);
  }
}

void main(process.argv);
