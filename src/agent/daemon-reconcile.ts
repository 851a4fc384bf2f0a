/**
 * The one seam between agentd and the reconciler: agentd hands over the pinned maps and a
 * DesiredState and gets back how many changes were applied. The default goes through
 * reconcile.ts (maps, kernel routes, nft, make-before-break); tests can pass another.
 */
import type { Logger } from 'pino';

import type { DesiredState } from '../compile/index.js';
import type { DatapathMaps } from './datapath.js';
import type { RuntimeUplink } from './map-entries.js';
import { reconcile } from './reconcile.js';

export interface StateReconcileResult {
  changes: number;
}

export type StateReconciler = (
  maps: DatapathMaps,
  state: DesiredState,
  opts: { uplink: RuntimeUplink; log: Logger },
) => Promise<StateReconcileResult>;

export const reconcileDesiredState: StateReconciler = async (maps, state, opts) => {
  const result = await reconcile(maps, state, { uplink: opts.uplink, log: opts.log });
  return { changes: result.changes };
};
