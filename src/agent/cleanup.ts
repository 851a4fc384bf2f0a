/**
 * Removing everything agentd made in a node (agentctl cleanup, agentd --cleanup-on-exit): the
 * pinned links (detached first, so the datapath stops even if some other process still holds a
 * link fd), every pin under the pin root, burrow's proto-tagged kernel routes, its nft table,
 * the tunnel device pair, and the bpffs mount agentd made on the pin root. Each step runs even
 * when an earlier one fails; the report says what was found and removed, and what failed.
 */
import fs from 'node:fs';

import { detachAll, linksDir } from './attach.js';
import { run } from './exec.js';
import { applyKernelRoutes, BURROW_ROUTE_PROTO, listKernelRoutes } from './kernel-routes.js';
import { DEFAULT_NAT_TABLE } from './reconcile.js';
import { releasePinRoot } from './pin-root.js';
import { removeTunnelDevice } from './tunnel-device.js';

export interface CleanupOptions {
  pinRoot: string;
  tunnelDevice?: string;
  natTable?: string;
  routeProto?: number;
  /** Unmount the pin root's bpffs when it is a mount point of its own (default true). */
  unmount?: boolean;
}

export interface CleanupReport {
  links: string[];
  pins: string[];
  routes: string[];
  natTable: boolean;
  tunnelDevice: boolean;
  unmounted: boolean;
  errors: string[];
}

function listPins(dir: string, prefix = ''): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listPins(`${dir}/${e.name}`, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** maps.debug / progs.debug: the kernel's bpf_preload iterators in a fresh bpffs root, not ours. */
function isPreloadIterator(name: string): boolean {
  return name === 'maps.debug' || name === 'progs.debug';
}

export async function cleanupAgentState(opts: CleanupOptions): Promise<CleanupReport> {
  const report: CleanupReport = { links: [], pins: [], routes: [], natTable: false, tunnelDevice: false, unmounted: false, errors: [] };
  const attempt = async (what: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      report.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await attempt('links', () => {
    report.links = detachAll(linksDir(opts.pinRoot));
  });
  await attempt('pins', () => {
    report.pins = listPins(opts.pinRoot).filter((p) => !isPreloadIterator(p));
    for (const entry of fs.readdirSync(opts.pinRoot)) {
      if (isPreloadIterator(entry)) continue;
      try {
        fs.rmSync(`${opts.pinRoot}/${entry}`, { recursive: true, force: true });
      } catch (e) {
        report.errors.push(`pin ${entry}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  });
  await attempt('kernel routes', async () => {
    const proto = opts.routeProto ?? BURROW_ROUTE_PROTO;
    const routes = await listKernelRoutes(proto);
    await applyKernelRoutes([], routes, proto);
    report.routes = routes.map((r) => r.dst);
  });
  await attempt('nft table', async () => {
    const table = opts.natTable ?? DEFAULT_NAT_TABLE;
    const out = await run(['nft', 'list', 'tables', 'ip']);
    if (out.split('\n').some((l) => l.trim() === `table ip ${table}`)) {
      await run(['nft', 'delete', 'table', 'ip', table]);
      report.natTable = true;
    }
  });
  await attempt('tunnel device', async () => {
    report.tunnelDevice = await removeTunnelDevice(opts.tunnelDevice ?? 'burrow0');
  });
  if (opts.unmount ?? true) {
    await attempt('bpffs', () => {
      report.unmounted = releasePinRoot(opts.pinRoot);
    });
  }
  return report;
}
