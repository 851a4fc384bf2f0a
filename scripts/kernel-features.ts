// What this kernel offers burrow, probed (not guessed from the version): one JSON object on stdout,
// or `--lines` for the kernel runner (scripts/kernels/guest.sh prints them as `@@burrow-kernels
// feature …` lines; scripts/kernels/support-table.mjs turns a matrix run into the README's kernel
// support table, docs/kernels.md "Support table"). Needs root (CAP_BPF, CAP_NET_ADMIN).
//
//   node dist/scripts/kernel-features.js [--lines]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

import { BpfMap, burrowRoute, burrowRouteKey, haveTcx, haveXdpLink, MapFlag } from '../src/bpf/index.js';


/** works: burrow uses it; fallback: burrow uses another way (said in `detail`); missing: not there. */
export type FeatureState = 'works' | 'fallback' | 'missing';
export interface Feature {
  name: string;
  state: FeatureState;
  detail: string;
}

function lpmBatch(): Feature {
  const name = 'LPM trie batch update';
  const map = BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 8, flags: MapFlag.noPrealloc, name: 'probe_lpm' });
  try {
    const key = Buffer.from([24, 0, 0, 0, 10, 0, 0, 0]); // 10.0.0.0/24: prefixlen in host order, address in network order
    map.setBatchRaw(key, Buffer.alloc(burrowRoute.size), 1);
    return map.batchSupport.update === false
      ? { name, state: 'fallback', detail: 'one bpf() call per route (no BPF_MAP_UPDATE_BATCH for LPM tries)' }
      : { name, state: 'works', detail: 'BPF_MAP_UPDATE_BATCH' };
  } finally {
    map.close();
  }
}

function ipipModule(): Feature {
  const name = 'kernel ipip module (Calico tunl0 interop)';
  try {
    execFileSync('modprobe', ['-n', 'ipip'], { stdio: 'ignore' });
    return { name, state: 'works', detail: 'modprobe ipip' };
  } catch {
    return { name, state: 'missing', detail: 'no ipip module: the interop test (test/kernels) cannot run here' };
  }
}

/** Managed neighbours (NTF_EXT_MANAGED, 5.16+): next hops resolved ahead of traffic (src/agent/nexthops.ts). */
function managedNeighbours(): Feature {
  const name = 'managed neighbours (next hops ahead of traffic)';
  const ns = `burrow-probe-${process.pid}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'add', 'name', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    ip('-n', ns, 'link', 'set', 'p0', 'up');
    ip('-n', ns, 'neigh', 'replace', '192.0.2.1', 'dev', 'p0', 'managed', 'protocol', '211');
    return { name, state: 'works', detail: 'NTF_EXT_MANAGED: the kernel resolves and keeps each next hop' };
  } catch (e) {
    const why = (e as { stderr?: Buffer }).stderr?.toString().trim() || String(e);
    return { name, state: 'fallback', detail: `a peer enters the nexthops map once traffic resolved its next hop (bpf_redirect_neigh): ${why}` };
  } finally {
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created
    }
  }
}

export function probeKernel(): Feature[] {
  return [
    haveTcx()
      ? { name: 'tcx links (TC attach)', state: 'works', detail: 'BPF_LINK_CREATE tcx, pinned' }
      : { name: 'tcx links (TC attach)', state: 'fallback', detail: 'clsact qdisc + cls_bpf filter, recorded under <pin-root>/links' },
    haveXdpLink()
      ? { name: 'XDP links', state: 'works', detail: 'BPF_LINK_CREATE xdp, pinned' }
      : { name: 'XDP links', state: 'fallback', detail: 'netlink XDP attach, recorded under <pin-root>/links' },
    lpmBatch(),
    fs.existsSync('/sys/kernel/btf/vmlinux')
      ? { name: 'kernel BTF', state: 'works', detail: '/sys/kernel/btf/vmlinux' }
      : { name: 'kernel BTF', state: 'missing', detail: 'no /sys/kernel/btf/vmlinux' },
    ipipModule(),
    managedNeighbours(),
  ];
}

function main(): void {
  const features = probeKernel();
  if (process.argv.includes('--lines')) {
    for (const f of features) console.log(`feature ${JSON.stringify({ ...f, kernel: os.release() })}`);
  } else {
    console.log(JSON.stringify({ kernel: os.release(), features }, null, 2));
  }
}

main();
