// Wire-like links for the lab (issue 16; docs/agentd.md, "The lab"). A veth pair carries whole
// 64 KB GSO segments from one namespace to the other: nothing is ever segmented and no GRO runs,
// which no real NIC offers. In `links: 'wire'` mode each node's uplink gets every segmentation
// offload switched off (TSO, GSO, the tunnel/UDP/GRE segmentation features, GSO lists), so the
// kernel segments in software before the frame leaves the node and the underlay carries only
// frames of at most the MTU, and GRO switched on, so the receiving node aggregates them as a NIC's
// driver would (on a veth, GRO on also gives the device the NAPI context GRO runs in). The other
// end of each uplink (its port on the segment's bridge: the switch) gets the segmentation
// offloads off too and GRO off: a veth hands a frame to its peer's GRO only when the sending
// device has TSO off (docs/agentd.md, "The lab"), and a switch neither aggregates nor segments. Pods and the tunnel device keep their defaults, as in production.
// What is in force afterwards is read back with `ethtool -k`, never assumed from what was asked for.
import { inNetns, sh } from './sh.js';

/** How the lab's node uplinks carry frames: whole GSO segments (veth default) or MTU-sized. */
export type LinkMode = 'gso' | 'wire';
export const LINK_MODES: readonly LinkMode[] = ['gso', 'wire'];

export interface Feature {
  readonly on: boolean;
  /** The driver does not let it change ("[fixed]"). */
  readonly fixed: boolean;
}

export type Features = Readonly<Record<string, Feature>>;

/** `ethtool -k DEV`'s output as feature name → state (indented sub-features included). */
export function parseEthtoolFeatures(text: string): Features {
  const out: Record<string, Feature> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_-]+): (on|off)( \[fixed\])?/.exec(line);
    if (m) out[m[1]!] = { on: m[2] === 'on', fixed: m[3] !== undefined };
  }
  return out;
}

/** A feature that lets a frame above the MTU leave the device (the device would carry it whole). */
export function isSegmentationFeature(name: string): boolean {
  return /segmentation/.test(name) || /^tx-gso-/.test(name);
}

/** What a wire-like device does with GRO: a node's uplink aggregates ('on'), the switch's port does not ('off'). */
export type WireGro = 'on' | 'off';

/** The `ethtool -K` arguments that make `current` wire-like: each changeable segmentation feature off, GRO as `gro`. */
export function wireRequest(current: Features, gro: WireGro = 'on'): string[] {
  const args: string[] = [];
  for (const [name, f] of Object.entries(current)) {
    if (f.on && !f.fixed && isSegmentationFeature(name)) args.push(name, 'off');
  }
  if ((current['generic-receive-offload']?.on ?? false) !== (gro === 'on')) args.push('gro', gro);
  return args;
}

/** Why `f` is not wire-like (empty when it is). */
export function wireProblems(f: Features, gro: WireGro = 'on'): string[] {
  const problems = Object.entries(f).filter(([name, s]) => s.on && isSegmentationFeature(name)).map(([name, s]) => `${name} is on${s.fixed ? ' [fixed]' : ''}`);
  if (!f['generic-receive-offload']) problems.push('ethtool lists no generic-receive-offload');
  else if (f['generic-receive-offload'].on !== (gro === 'on')) problems.push(`generic-receive-offload is ${gro === 'on' ? 'off' : 'on'}`);
  return problems;
}

/** The features a reader of a benchmark needs, in this order (the rest are listed by `ethtool -k`). */
export const SUMMARY_FEATURES = [
  'tcp-segmentation-offload',
  'generic-segmentation-offload',
  'tx-udp_tnl-segmentation',
  'tx-ipxip4-segmentation',
  'tx-udp-segmentation',
  'tx-gso-list',
  'generic-receive-offload',
  'rx-gro-list',
  'rx-udp-gro-forwarding',
  'tx-checksumming',
  'rx-checksumming',
] as const;

const SHORT: Record<string, string> = {
  'tcp-segmentation-offload': 'tso',
  'generic-segmentation-offload': 'gso',
  'generic-receive-offload': 'gro',
  'tx-checksumming': 'tx-csum',
  'rx-checksumming': 'rx-csum',
};

/** "tso off, gso off, …, gro on" for the summary features `f` lists. */
export function formatFeatures(f: Features): string {
  return SUMMARY_FEATURES.filter((n) => f[n]).map((n) => `${SHORT[n] ?? n} ${f[n]!.on ? 'on' : 'off'}`).join(', ');
}

/** `ethtool -k dev` in namespace `ns`, parsed. */
export function readFeatures(ns: string, dev: string): Features {
  return parseEthtoolFeatures(sh(inNetns(ns, ['ethtool', '-k', dev])));
}

/**
 * Makes `dev` in `ns` wire-like (segmentation offloads off, GRO as `gro`) and returns the features
 * in force afterwards (read back). Throws, naming what stayed, when the device cannot be made so
 * (a segmentation feature fixed on, GRO refused).
 */
export function makeWireLike(ns: string, dev: string, gro: WireGro = 'on'): Features {
  const args = wireRequest(readFeatures(ns, dev), gro);
  // ethtool -K exits non-zero when a change does not take; the read-back below says which.
  if (args.length > 0) sh(inNetns(ns, ['ethtool', '-K', dev, ...args]), { ok: [1] });
  const after = readFeatures(ns, dev);
  const problems = wireProblems(after, gro);
  if (problems.length > 0) throw new Error(`${ns}/${dev} cannot be made wire-like: ${problems.join('; ')}`);
  return after;
}
