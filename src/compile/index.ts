// Public surface of the compiler: Model → DesiredState (pure) and its JSON view.
export { compileDesiredState } from './compile.js';
export { desiredStateJson, type DesiredStateJson, type TunnelRouteJson } from './json.js';
export {
  CompileError,
  CompileOptionsSchema,
  DECAP_SOURCE_CHECKS,
  IPIP_OVERHEAD,
  VXLAN_OVERHEAD,
  type CompileOptions,
  type ResolvedCompileOptions,
} from './options.js';
export { inSendersSubnet, poolEncap, tunnelModeFor } from './encap.js';
export type {
  DecapSourceCheck,
  DesiredState,
  DirectKernelRoute,
  KernelRoute,
  NatRule,
  NodeConfig,
  PoolRef,
  TunnelEncap,
  TunnelKernelRoute,
  TunnelMode,
  TunnelPeer,
  TunnelRoute,
  TunnelRouteKind,
} from './types.js';
