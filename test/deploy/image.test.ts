// The container image and the uninstall (issue 14, docs/operations.md "Building the image" and
// "Uninstall"): deploy/Containerfile is built from this checkout with Debian's buildah on a local
// Node base (scripts/local-node-base.sh: mmdebstrap + this machine's Node, cached by content
// hash), then agentd runs FROM THE IMAGE in lab nodes — podman, privileged, in the node's
// network namespace (`--network ns:/run/netns/<ns>`), the node's bpffs pin root mounted in — and
// carries pod traffic across nodes and subnets, NAT and the tunnel pair's /proc/sys settings
// included. Then the uninstall: the exact command of deploy/kubernetes/burrow-uninstall.yaml's
// init container, from the same image, leaves the node as it was before agentd ever ran, and
// what is not burrow's (a route, an nft table, a device, a pin) untouched.
//
// Slow on a first run (~6 min: the build stage installs clang; later runs reuse the build cache,
// see docs/operations.md). Removes its containers and its image tag whatever happens; the base
// image and the build cache stay, for the next run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import YAML from 'yaml';

import { BpfMap, listAttached, u32, withNetns } from '../../src/bpf/index.js';
import { LOCK_DIR } from '../../src/agent/pin-root.js';
import { startAgent, type AgentOptions, type LabAgent } from '../../src/lab/agents.js';
import { Lab, type LabNode } from '../../src/lab/lab.js';
import { labManifests, poolManifest, writeLabManifests } from '../../src/lab/manifests.js';
import { runAsync, sh, shQuiet, sleep } from '../../src/lab/sh.js';
import { ping, tcpTransfer } from '../../src/lab/traffic.js';
import { assertNoReplies, assertPodsConnected, counters, MiB } from '../helpers/lab.js';
import { repoRoot } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

/**
 * runc, not crun: Debian 12's crun refuses a hybrid cgroup hierarchy (cgroup v1 with an empty
 * unified tree), which some CI machines have. Explicit ulimits: podman's defaults raise them to
 * the maximum, which fails where the runner lacks CAP_SYS_RESOURCE.
 */
const ENGINE = ['--runtime', 'runc'];
const LIMITS = ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=8192:8192'];

const run = `bi-${crypto.randomBytes(3).toString('hex')}`;
const tag = `localhost/burrow-image-test:${run}`;
let built = false;
const containers = new Set<string>();

function removeContainer(name: string): void {
  shQuiet(['podman', ...ENGINE, 'rm', '--force', '--time', '0', '--ignore', name]);
  containers.delete(name);
}

privileged.afterAlways(() => {
  for (const c of [...containers]) removeContainer(c);
  // The tag of this run goes; the layers it shares with the build cache stay (docs/operations.md).
  if (built) shQuiet(['podman', 'rmi', '--force', tag]);
});

/** `podman run` of the image in lab node `node`'s network namespace, with its pin root, manifests and the pin-root lock directory. */
function inNode(node: LabNode, name: string, command: readonly string[]): string[] {
  containers.add(name);
  return [
    'podman', ...ENGINE, 'run', '--rm', '--name', name, '--pull', 'never', '--privileged', ...LIMITS,
    '--network', `ns:/run/netns/${node.ns}`,
    '-v', `${node.pinRoot}:${node.pinRoot}`,
    '-v', `${node.manifestsDir}:${node.manifestsDir}:ro`,
    '-v', `${LOCK_DIR}:${LOCK_DIR}`,
    tag, ...command,
  ];
}

function fromImage(lab: Lab): AgentOptions {
  return {
    readyTimeoutMs: 60_000,
    launch: {
      argv: (node, args) => inNode(node, `${lab.prefix}-${node.name}-agentd`, ['agentd', ...args]),
      stop: () => {
        for (const n of lab.nodes.values()) removeContainer(`${lab.prefix}-${n.name}-agentd`);
      },
    },
  };
}

/** Everything of a node that burrow could touch, as text: links, routes of every table, nft, pins, what is attached to the uplink. */
function nodeState(lab: Lab, name: string): Record<string, unknown> {
  const n = lab.node(name);
  const links = (JSON.parse(sh(['ip', '-n', n.ns, '-j', 'link', 'show'])) as Array<{ ifname: string; flags: string[]; mtu: number }>)
    .map((l) => `${l.ifname} ${l.mtu} ${l.flags.join(',')}`).sort();
  const attached = withNetns(`/run/netns/${n.ns}`, () => listAttached(n.uplink));
  return {
    links,
    // IPv4: the IPv6 link-local routes of the lab's own links come and go with DAD, burrow has no IPv6 routes.
    routes: sh(['ip', '-n', n.ns, '-4', 'route', 'show', 'table', 'all']),
    nft: sh(['ip', 'netns', 'exec', n.ns, 'nft', 'list', 'ruleset']),
    // maps.debug and progs.debug are the kernel's preload iterators of a fresh bpffs.
    pins: fs.readdirSync(n.pinRoot).filter((f) => !f.endsWith('.debug')).sort(),
    uplink: { xdp: attached.xdp?.name ?? null, ingress: attached.tcx.ingress.map((p) => p.name), egress: attached.tcx.egress.map((p) => p.name) },
  };
}

/** The uninstall command, exactly as deploy/kubernetes/burrow-uninstall.yaml's init container runs it. */
function uninstallCommand(): string[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(repoRoot, 'deploy/kubernetes/burrow-uninstall.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  const init = (ds.spec.template.spec.initContainers as Array<{ name: string; command: string[] }>).find((c) => c.name === 'cleanup')!;
  return init.command;
}

privileged.serial('the image: built from deploy/Containerfile on a local Node base, agentd from it carries pod traffic; the uninstall from it leaves the node as it was', async (t) => {
  t.timeout(40 * 60_000);
  fs.mkdirSync(LOCK_DIR, { recursive: true });

  // ── build ──
  let t0 = Date.now();
  const base = await runAsync(['bash', path.join(repoRoot, 'scripts/local-node-base.sh')], { timeoutMs: 15 * 60_000 });
  t.is(base.code, 0, base.stderr.slice(-3000));
  const baseTag = base.stdout.trim();
  t.log(`base ${baseTag}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t0 = Date.now();
  const build = await runAsync(['buildah', 'build', ...ENGINE, '--network', 'host', ...LIMITS, '--layers', '--force-rm', '--build-arg', `BASE=${baseTag}`,
    '-f', path.join(repoRoot, 'deploy/Containerfile'), '-t', tag, repoRoot], { timeoutMs: 30 * 60_000 });
  built = true;
  t.is(build.code, 0, (build.stdout + build.stderr).slice(-5000));
  const size = Number(sh(['podman', 'image', 'inspect', '--format', '{{.Size}}', tag]).trim());
  t.log(`image ${tag}: built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${(size / 1e6).toFixed(0)} MB`);
  const contents = sh(['podman', ...ENGINE, 'run', '--rm', '--network', 'none', ...LIMITS, tag, 'sh', '-c',
    'ls -A /opt/burrow; ls /opt/burrow/build/bpf /opt/burrow/build/Release; for c in ip nft mount; do command -v $c; done; ls /opt/burrow/dist; test ! -e /opt/burrow/.git && echo no-git']);
  t.regex(contents, /tc_encap\.bpf\.o/);
  t.regex(contents, /burrow_native\.node/);
  t.regex(contents, /burrow_rtnl\.node/);
  t.regex(contents, /\/ip\n.*\/nft\n.*\/mount\n/);
  t.regex(contents, /no-git/);
  t.notRegex(contents, /^test$/m, 'no tests in the image');

  // ── agentd from the image in node-a and node-c (across the router), IPIP with natOutgoing ──
  const lab = Lab.create();
  t.teardown(() => lab.destroy());
  writeLabManifests(lab, labManifests(lab, { 'pool.yaml': poolManifest({ ipipMode: 'Always', natOutgoing: true }) }));
  const a = lab.node('node-a');
  const before = nodeState(lab, 'node-a');
  // What is not burrow's, in node-a: a device pair, a proto-tagged route of another daemon, an nft table, a pin.
  sh(['ip', '-n', a.ns, 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1']);
  sh(['ip', '-n', a.ns, 'route', 'add', '198.51.100.0/24', 'via', a.routerAddress, 'proto', '99']);
  sh(['ip', 'netns', 'exec', a.ns, 'nft', 'add', 'table', 'inet', 'keep']);
  const keepMap = BpfMap.create({ type: 'hash', key: u32, value: u32, maxEntries: 4, name: 'keep' });
  keepMap.pin(path.join(a.pinRoot, 'keep'));
  keepMap.close();
  const foreign = nodeState(lab, 'node-a');

  const agents: Record<string, LabAgent> = {};
  t0 = Date.now();
  await Promise.all(['node-a', 'node-c'].map(async (n) => (agents[n] = await startAgent(lab, n, fromImage(lab)))));
  t.log(`agentd from the image ready in node-a and node-c: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await assertPodsConnected(t, lab, 'node-a', 'node-c', 4 * MiB);
  t.true(counters(lab, 'node-a').encap_ipip! > 0, 'through the tunnel');
  const x = await tcpTransfer(lab.pod('node-a').ns, lab.extNs, lab.topology.ext.address, 64 << 10);
  t.is(x.received.peer, a.address, 'natOutgoing from the image\'s nft');
  for (const [key, want] of [['net.ipv4.conf.burrow0p.forwarding', '0'], ['net.ipv4.conf.burrow0.rp_filter', '0']] as const) {
    t.is(sh(['ip', 'netns', 'exec', a.ns, 'sysctl', '-n', key]).trim(), want, `${key} set from inside the container`);
  }
  // nft flush ruleset in node-a: the image's agentd puts its table back (its nft monitor runs in the container).
  sh(['ip', 'netns', 'exec', a.ns, 'nft', 'flush', 'ruleset']);
  let back = -1;
  for (const start = Date.now(); Date.now() - start < 5000; await sleep(20)) {
    if (sh(['ip', 'netns', 'exec', a.ns, 'nft', 'list', 'tables']).includes('table ip burrow')) {
      back = Date.now() - start;
      break;
    }
  }
  t.log(`nft flush ruleset: ip burrow back after ${back} ms`);
  t.true(back >= 0 && back < 2000, `ip burrow back within 2 s (${back} ms)`);
  sh(['ip', 'netns', 'exec', a.ns, 'nft', 'add', 'table', 'inet', 'keep']); // the flush took ours too: put the foreign table back

  // ── SIGTERM (a DaemonSet deleted): agentd exits 0, the datapath keeps forwarding ──
  t.is(await agents['node-a']!.stop('SIGTERM'), 0, agents['node-a']!.tail());
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 })).received, 3, 'still forwarding after agentd stopped');

  // ── the uninstall, as burrow-uninstall.yaml runs it, from the image ──
  const command = uninstallCommand();
  t.deepEqual(command.slice(0, 1), ['agentctl']);
  const pinRootArg = command.find((c) => c.startsWith('--pin-root='))!;
  const cmd = command.map((c) => (c === pinRootArg ? `--pin-root=${a.pinRoot}` : c)); // the lab's pin root for the node's /sys/fs/bpf/burrow
  const uninstall = await runAsync(inNode(a, `${lab.prefix}-node-a-uninstall`, [...cmd, '-o', 'json']), { timeoutMs: 120_000 });
  t.is(uninstall.code, 0, uninstall.stdout + uninstall.stderr);
  const report = JSON.parse(uninstall.stdout) as { links: string[]; pins: string[]; leftAlone: string[]; routes: string[]; natTable: boolean; tunnelDevice: boolean; errors: string[] };
  t.deepEqual(report.links.sort(), ['tc_decap@eth0', 'tc_encap@burrow0']);
  t.deepEqual(report.routes, ['192.168.0.0/16']);
  t.true(report.natTable && report.tunnelDevice);
  t.deepEqual(report.leftAlone, ['keep']);
  t.deepEqual(report.errors, []);
  t.deepEqual(nodeState(lab, 'node-a'), foreign, 'node-a exactly as before agentd ran: burrow\'s things gone, the others untouched');
  assertNoReplies(t, await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 2, interval: 0.05 }), 2, 'no datapath left');
  const again = await runAsync(inNode(a, `${lab.prefix}-node-a-uninstall2`, [...cmd, '-o', 'json']), { timeoutMs: 120_000 });
  t.is(again.code, 0, again.stderr);
  t.like(JSON.parse(again.stdout), { links: [], pins: [], routes: [], natTable: false, tunnelDevice: false }, 'a second run finds nothing');

  // Without the foreign things, node-a is as it was before the test touched it.
  sh(['ip', '-n', a.ns, 'link', 'del', 'keep0']);
  sh(['ip', '-n', a.ns, 'route', 'del', '198.51.100.0/24', 'proto', '99']);
  sh(['ip', 'netns', 'exec', a.ns, 'nft', 'delete', 'table', 'inet', 'keep']);
  fs.unlinkSync(path.join(a.pinRoot, 'keep'));
  t.deepEqual(nodeState(lab, 'node-a'), before);

  // No container of this run is left running or stopped once node-c's agentd stops too.
  t.is(await agents['node-c']!.stop('SIGTERM'), 0, agents['node-c']!.tail());
  const left = sh(['podman', 'ps', '--all', '--format', '{{.Names}}']).split('\n').filter((n) => n.startsWith(lab.prefix));
  t.deepEqual(left, [], 'no container left');
});
