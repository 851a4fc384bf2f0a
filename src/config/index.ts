// Public surface of the config layer: load (I/O) or parse (pure) manifests into a Model, and the
// one diagnostic formatter.
export { loadManifests, readManifestSources } from './load.js';
export { parseManifests, type ManifestSource } from './parse.js';
export { parseManifestText, type RawDocument } from './documents.js';
export {
  formatDiagnostic,
  formatDiagnostics,
  type ConfigDiagnostic,
  type Severity,
} from './diagnostics.js';
export type {
  AllowedUse,
  Block,
  EncapMode,
  Encapsulation,
  FelixSettings,
  IPPool,
  LoadResult,
  Model,
  Node,
} from './model.js';
export {
  DEFAULT_BLOCK_SIZE_V4,
  DEFAULT_BLOCK_SIZE_V6,
  DEFAULT_VXLAN_PORT,
  DEFAULT_VXLAN_VNI,
} from './model.js';
export { calicoVtepMac, parseMac } from './mac.js';
export * as schemas from './schema.js';
