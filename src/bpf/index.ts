// The eBPF library: cilium/ebpf's shape in TypeScript over the burrow_native addon.
export * from './attached.js';
export * from './btf-check.js';
export * from './collection.js';
export * from './collection-spec.js';
export * from './constants.js';
export * from './errors.js';
export * from './features.js';
export * from './link.js';
export * from './map.js';
export * from './netns.js';
export * from './program.js';
export * from './struct.js';
export * from './structs.js';
export type {
  BtfEnum,
  BtfMember,
  BtfStruct,
  BtfTypeRef,
  NativeError,
} from './native.js';
