// node-a of the lab as the codec sees it, and the shape of a tunnel route: shared by the codec's
// unit tests (test/unit/codec/fixtures.ts) and the table cases of the eBPF programs
// (test/bpf/cases/world.ts), which build their own routes and peers around it.
import type { NodeConfig, TunnelRoute } from '../../src/codec/index.js';

export const NODE_A: NodeConfig = {
  localIp: '10.0.1.10',
  uplinkIfindex: 3,
  uplinkMac: '02:00:00:00:0a:01',
  vtepMac: '66:00:00:00:00:0a',
  vxlanPort: 4789,
  ttl: 0,
  defaultVni: 4096,
  uplinkMtu: 1500,
  flags: 0,
};

/** node-b's VTEP MAC: the inner Ethernet destination of a route unless it says otherwise. */
export const VTEP_B = '66:00:00:00:00:0b';

/** A route to `remote` in `mode`: VNI 0 (the default), VTEP_B, no flags, pool 0, unless `extra` says otherwise. */
export function tunnelRoute(mode: TunnelRoute['mode'], remote: string, extra: Partial<TunnelRoute> = {}): TunnelRoute {
  return { mode, remote, vni: 0, vtepMac: VTEP_B, flags: 0, pool: 0, ...extra };
}
