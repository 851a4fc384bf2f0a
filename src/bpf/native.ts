// The typed boundary to build/Release/burrow_native.node (native/*.cc). Every addon function is
// declared here with the exact shapes the C++ returns; nothing untyped crosses into the library.
// The addon works on bytes and fds and throws NativeError (errors.ts turns those into classes).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// errors.ts reads isNativeError from here; its classes are only used inside functions (no cycle at load).
import { ErrInvalid, ErrNotExist } from './errors.js';

/** A BTF type as seen from a map definition: kind 'struct', 'int', 'typedef', ... */
export interface BtfTypeRef {
  kind: string;
  name: string;
  size: number;
}

export interface BtfMember {
  name: string;
  offset: number;
  size: number;
  kind?: string;
  bitfieldSize?: number;
}

export interface BtfStruct {
  name: string;
  size: number;
  members: BtfMember[];
}

export interface BtfEnum {
  name: string;
  size: number;
  values: { name: string; value: number }[];
}

export interface NativeMapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  internal: boolean;
  pinPath: string | null;
  keyType: BtfTypeRef | null;
  valueType: BtfTypeRef | null;
}

export interface NativeProgramSpec {
  name: string;
  section: string;
  type: number;
  expectedAttachType: number;
}

export interface NativeBpfObject {
  maps(): NativeMapSpec[];
  programs(): NativeProgramSpec[];
  setMapPinPath(map: string, path: string | null): void;
  setMapMaxEntries(map: string, maxEntries: number): void;
  reuseMapFd(map: string, fd: number): void;
  load(): void;
  /** A duplicate the caller owns. */
  mapFd(map: string): number;
  progFd(prog: string): number;
  btfStruct(name: string): BtfStruct | null;
  btfEnum(name: string): BtfEnum | null;
  close(): void;
}

export interface NativeMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface NativeMapHandle {
  readonly fd: number;
  /** Bytes a lookup writes: value size, or round_up(value size, 8) × possible CPUs. */
  readonly valueBufferSize: number;
  info(): NativeMapInfo;
  lookup(key: Uint8Array, out: Uint8Array): void;
  update(key: Uint8Array, value: Uint8Array, flags: number): void;
  delete(key: Uint8Array): void;
  nextKey(key: Uint8Array | null, out: Uint8Array): boolean;
  lookupBatch(
    inToken: Uint8Array | null,
    outToken: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): { count: number; done: boolean };
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number): number;
  deleteBatch(keys: Uint8Array, count: number): number;
  close(): void;
}

export interface NativeTestRunOptions {
  data?: Uint8Array;
  dataOutSize?: number;
  ctx?: Uint8Array;
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface NativeTestRunResult {
  retval: number;
  duration: number;
  data: Buffer | null;
  ctx: Buffer | null;
}

export interface NativeProgInfo {
  type: number;
  id: number;
  name: string;
  tag: string;
  mapIds: number[];
}

export interface NativeLinkInfo {
  type: number;
  id: number;
  progId: number;
  ifindex?: number;
  attachType?: number;
}

export interface NativeXdpQuery {
  progId: number;
  drvProgId: number;
  skbProgId: number;
  hwProgId: number;
  mode: number;
}

export type TcPoint = 'ingress' | 'egress';

export interface NativeTcFilter {
  handle: number;
  priority: number;
  protocol: number;
  progId: number;
  name?: string;
  directAction?: boolean;
}

export interface NativeAddon {
  BpfObject: new (source: string | Uint8Array, opts?: { name?: string; pinRootPath?: string }) => NativeBpfObject;
  MapHandle: new (fd: number) => NativeMapHandle;
  mapCreate(
    type: number,
    keySize: number,
    valueSize: number,
    maxEntries: number,
    opts?: { flags?: number; name?: string },
  ): number;
  mapInfo(fd: number): NativeMapInfo;
  possibleCpus(): number;
  progTestRun(fd: number, opts: NativeTestRunOptions): NativeTestRunResult;
  progInfo(fd: number): NativeProgInfo;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  fdById(kind: 'map' | 'prog' | 'link', id: number): number;
  closeFd(fd: number): void;
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. */
  flockExclusive(fd: number): boolean;
  /** V8's low-memory collection (young generation shrunk back) and malloc_trim (native/memory.cc). */
  releaseMemory(): void;
  linkCreate(progFd: number, target: number, attachType: number, flags: number): number;
  linkDetach(fd: number): void;
  /** BPF_LINK_UPDATE: the link runs progFd from now on; with oldProgFd, only if it still runs that one. */
  linkUpdate(linkFd: number, progFd: number, oldProgFd?: number): void;
  linkInfo(fd: number): NativeLinkInfo;
  progQuery(ifindex: number, attachType: number): { progIds: number[]; linkIds: number[]; revision: number };
  xdpAttach(ifindex: number, progFd: number, flags: number, oldProgFd?: number): void;
  xdpDetach(ifindex: number, flags: number, expectedProgFd?: number): void;
  xdpQuery(ifindex: number): NativeXdpQuery;
  tcHookCreate(ifindex: number, point: TcPoint | 'both'): void;
  tcHookDestroy(ifindex: number, point: TcPoint | 'both'): void;
  tcAttach(
    ifindex: number,
    point: TcPoint,
    progFd: number,
    opts?: { handle?: number; priority?: number; replace?: boolean },
  ): { handle: number; priority: number; progId: number };
  tcDetach(ifindex: number, point: TcPoint, handle: number, priority: number): void;
  tcQuery(ifindex: number, point: TcPoint, handle: number, priority: number): number;
  tcList(ifindex: number, point: TcPoint): NativeTcFilter[];
  openNetns(path: string): number;
  setns(target: string | number): void;
  ifNameToIndex(name: string): number;
  ifIndexToName(ifindex: number): string;
  /** GRO, TSO and GSO of a device in this thread's netns (SIOCETHTOOL, native/ethtool.cc). */
  linkOffloads(ifname: string): LinkOffloads;
  /** Sets GRO and/or TSO of a device in this thread's netns (legacy ETHTOOL_SGRO / ETHTOOL_STSO). */
  setLinkOffloads(ifname: string, want: { gro?: boolean; tso?: boolean }): void;
}

/** Whether a device aggregates received frames (GRO) and sends frames above its MTU (TSO, GSO). */
export interface LinkOffloads {
  gro: boolean;
  tso: boolean;
  gso: boolean;
}

/** The error shape every native call throws (native/errors.cc). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
  verifierLog?: string;
  program?: string;
  libbpfLog?: string;
  processed?: number;
}

const EXPORTS: readonly (keyof NativeAddon)[] = [
  'BpfObject', 'MapHandle', 'mapCreate', 'mapInfo', 'possibleCpus', 'progTestRun', 'progInfo', 'objPin',
  'objGet', 'fdById', 'closeFd', 'flockExclusive', 'releaseMemory', 'linkCreate', 'linkDetach', 'linkUpdate', 'linkInfo', 'progQuery', 'xdpAttach',
  'xdpDetach', 'xdpQuery', 'tcHookCreate', 'tcHookDestroy', 'tcAttach', 'tcDetach', 'tcQuery', 'tcList',
  'openNetns', 'setns', 'ifNameToIndex', 'ifIndexToName', 'linkOffloads', 'setLinkOffloads',
];

function isNativeAddon(mod: unknown): mod is NativeAddon {
  if (typeof mod !== 'object' || mod === null) return false;
  const rec = mod as Record<string, unknown>;
  return EXPORTS.every((name) => typeof rec[name] === 'function');
}

// Compiled code runs from dist/src/bpf, sources (tsx) from src/bpf: the package root is the
// nearest ancestor holding package.json.
function findAddon(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'build/Release/burrow_native.node');
    const up = path.dirname(dir);
    if (up === dir) throw ErrNotExist.of('ENOENT', 'loadAddon', 'burrow: cannot find the package root (package.json) above src/bpf');
    dir = up;
  }
}

function loadAddon(): NativeAddon {
  const file = findAddon();
  if (!fs.existsSync(file)) {
    throw ErrNotExist.of('ENOENT', 'loadAddon', `burrow: the native addon ${file} is not built; run \`bash scripts/setup.sh\``);
  }
  const mod: unknown = createRequire(import.meta.url)(file);
  if (!isNativeAddon(mod)) {
    throw ErrInvalid.of('EINVAL', 'loadAddon', `burrow: ${file} does not export the expected functions; rebuild it (bash scripts/setup.sh)`);
  }
  return mod;
}

let loaded: NativeAddon | undefined;

/** The addon, loaded on first use so that the pure parts of the library (struct codecs) work
 * without a native build. */
export function addon(): NativeAddon {
  loaded ??= loadAddon();
  return loaded;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as Partial<NativeError>).code === 'string' &&
    typeof (e as Partial<NativeError>).errno === 'number';
}

// ---- burrow_rtnl.node (native/rtnl/): rtnetlink dumps as bytes, for src/agent/kernel-routes.ts.
// A second, libbpf-free addon built beside burrow_native by the same binding.gyp.

export interface NativeRtnl {
  /**
   * Sends `request` (one complete netlink message with NLM_F_REQUEST|NLM_F_DUMP) on a fresh
   * NETLINK_ROUTE socket of the calling thread's network namespace, with strict checking (the
   * kernel applies the request's filters) and extended acks, and returns every reply message
   * (nlmsghdr included) that came before NLMSG_DONE. A netlink error throws a NativeError whose
   * message carries the kernel's reason (also as `.extack`).
   */
  rtnlDump(request: Uint8Array): Buffer;
}

function isNativeRtnl(mod: unknown): mod is NativeRtnl {
  return typeof mod === 'object' && mod !== null && typeof (mod as Record<string, unknown>).rtnlDump === 'function';
}

let loadedRtnl: NativeRtnl | undefined;

/** burrow_rtnl.node, loaded on first use. */
export function rtnlAddon(): NativeRtnl {
  if (loadedRtnl) return loadedRtnl;
  const file = path.join(path.dirname(findAddon()), 'burrow_rtnl.node');
  if (!fs.existsSync(file)) {
    throw ErrNotExist.of('ENOENT', 'loadAddon', `burrow: the native addon ${file} is not built; run \`bash scripts/setup.sh\``);
  }
  const mod: unknown = createRequire(import.meta.url)(file);
  if (!isNativeRtnl(mod)) throw ErrInvalid.of('EINVAL', 'loadAddon', `burrow: ${file} does not export rtnlDump; rebuild it (bash scripts/setup.sh)`);
  loadedRtnl = mod;
  return mod;
}
