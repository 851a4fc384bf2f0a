/**
 * Kernel routes that burrow owns: tagged with their own routing protocol number (`proto 211` by
 * default), so listing and deleting never touches a route someone else made. Changes go through
 * one `ip -batch` call: thousands of routes cost one process, not thousands.
 */
import { run } from './exec.js';

export const BURROW_ROUTE_PROTO = 211;

export interface KernelRoute {
  dst: string;            // CIDR
  dev?: string | undefined;
  via?: string | undefined;
  mtu?: number | undefined;
  onlink?: boolean | undefined;
  /** Preferred source address (the node's tunnel address, when it sets one). */
  src?: string | undefined;
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  metrics?: Array<{ mtu?: number }>;
  flags?: string[];
  prefsrc?: string;
}

function normaliseDst(dst: string): string {
  return dst.includes('/') ? dst : `${dst}/32`;
}

export async function listKernelRoutes(proto = BURROW_ROUTE_PROTO): Promise<KernelRoute[]> {
  const out = await run(['ip', '-j', '-4', 'route', 'show', 'proto', String(proto)]);
  const rows = (out.trim() ? JSON.parse(out) : []) as IpRouteJson[];
  return rows.map((r) => {
    const route: KernelRoute = { dst: normaliseDst(r.dst) };
    if (r.dev) route.dev = r.dev;
    if (r.gateway) route.via = r.gateway;
    const mtu = r.metrics?.find((m) => m.mtu !== undefined)?.mtu;
    if (mtu) route.mtu = mtu;
    if (r.flags?.includes('onlink')) route.onlink = true;
    if (r.prefsrc) route.src = r.prefsrc;
    return route;
  });
}

export function routeReplaceLine(r: KernelRoute, proto = BURROW_ROUTE_PROTO): string {
  const parts = ['route', 'replace', r.dst];
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push('mtu', String(r.mtu));
  if (r.src) parts.push('src', r.src);
  parts.push('proto', String(proto));
  return parts.join(' ');
}

export function routeDeleteLine(r: KernelRoute, proto = BURROW_ROUTE_PROTO): string {
  return `route del ${r.dst} proto ${proto}`;
}

/** Applies replaces first, then deletes (make-before-break), in one ip process. */
export async function applyKernelRoutes(
  replace: readonly KernelRoute[],
  remove: readonly KernelRoute[],
  proto = BURROW_ROUTE_PROTO,
): Promise<void> {
  const lines = [...replace.map((r) => routeReplaceLine(r, proto)), ...remove.map((r) => routeDeleteLine(r, proto))];
  if (lines.length === 0) return;
  await run(['ip', '-4', '-batch', '-'], { input: lines.join('\n') + '\n' });
}
