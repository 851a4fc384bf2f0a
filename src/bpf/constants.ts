// Kernel ABI numbers the library speaks in (include/uapi/linux/bpf.h, if_link.h, pkt_cls.h).
// Those missing from the 6.1 headers on the build machine (tcx) are from Linux 6.6.

export const MapType = {
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  queue: 22,
  stack: 23,
  devmap_hash: 25,
  ringbuf: 27,
  bloom_filter: 30,
} as const;
export type MapTypeName = keyof typeof MapType;

const PER_CPU: ReadonlySet<number> = new Set([MapType.percpu_hash, MapType.percpu_array, MapType.lru_percpu_hash, 21]);
export function isPerCpuMapType(type: number): boolean {
  return PER_CPU.has(type);
}

export const MapFlag = {
  /** Required by LPM_TRIE; elements allocated on update rather than up front. */
  noPrealloc: 1 << 0,
  noCommonLru: 1 << 1,
  numaNode: 1 << 2,
  rdonly: 1 << 3,
  wronly: 1 << 4,
  rdonlyProg: 1 << 7,
  wronlyProg: 1 << 8,
  mmapable: 1 << 10,
} as const;

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
export const UpdateFlag = { any: 0, noexist: 1, exist: 2 } as const;
export type UpdateMode = keyof typeof UpdateFlag;

export const ProgType = {
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  lwt_in: 10,
  lwt_out: 11,
  lwt_xmit: 12,
  sk_skb: 14,
  sk_msg: 16,
  flow_dissector: 22,
  tracing: 26,
  syscall: 31,
  netfilter: 32,
} as const;

export const AttachType = {
  xdp: 37,
  tcx_ingress: 46,
  tcx_egress: 47,
} as const;

export const LinkType = { xdp: 6, tcx: 11 } as const;

export const XdpFlag = {
  updateIfNoexist: 1 << 0,
  skbMode: 1 << 1,
  drvMode: 1 << 2,
  hwMode: 1 << 3,
  replace: 1 << 4,
} as const;

/** IFLA_XDP_ATTACHED values, as bpf_xdp_query reports them. */
export const XdpAttachedMode = { 0: 'none', 1: 'native', 2: 'generic', 3: 'offload', 4: 'multi' } as const;

export const XdpAction = { aborted: 0, drop: 1, pass: 2, tx: 3, redirect: 4 } as const;
export const TcAction = { ok: 0, reclassify: 1, shot: 2, pipe: 3, stolen: 4, redirect: 7 } as const;

export const TestRunFlag = { runOnCpu: 1 << 0, xdpLiveFrames: 1 << 1 } as const;

export function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `unknown(${value})`;
}
