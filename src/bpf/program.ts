// Program: a loaded program (an fd). run() is BPF_PROG_TEST_RUN: the program runs once (or
// `repeat` times) on the given frame and context, in the calling thread's network namespace.
import { nameOf, ProgType, TestRunFlag } from './constants.js';
import { ErrClosed, nativeCall } from './errors.js';
import { addon } from './native.js';
import { removePin } from './pin.js';

export interface RunOptions {
  /** The frame, from the Ethernet header (XDP, TC) or the packet start. */
  data?: Uint8Array;
  /** Room for the output frame; default data length + 1024 (encap grows frames). */
  dataOutSize?: number;
  /** Context in: struct xdp_md for XDP, struct __sk_buff for TC (only some fields may be set). */
  ctx?: Uint8Array;
  /**
   * Room for the context out. The kernel copies its whole context struct back (struct __sk_buff is
   * 192 bytes on 6.x) and fails with ENOSPC when that does not fit, however short ctx was; so the
   * default is max(ctx length, 512) when a ctx is given. The returned ctx has the kernel's size.
   */
  ctxOutSize?: number;
  repeat?: number;
  /** Raw BPF_F_TEST_* flags; `xdpLiveFrames` sets BPF_F_TEST_XDP_LIVE_FRAMES. */
  flags?: number;
  /** Frames really go out (XDP_TX/REDIRECT transmit, XDP_PASS enters the stack); no data out. */
  xdpLiveFrames?: boolean;
  cpu?: number;
  batchSize?: number;
}

export interface RunResult {
  retval: number;
  /** Average nanoseconds per repetition. */
  duration: number;
  /** The frame after the program (empty for live frames). */
  data: Buffer;
  ctx: Buffer | undefined;
}

export interface ProgramInfo {
  type: number;
  typeName: string;
  id: number;
  /** The kernel's copy, at most 15 characters. */
  name: string;
  tag: string;
  mapIds: number[];
}

export class Program {
  private pinnedAt: string | undefined;
  private closed = false;

  /** Takes ownership of `fd`. */
  constructor(
    private readonly ownFd: number,
    /** The full name from the object, or the kernel's (truncated) one. */
    readonly name: string,
    readonly type: number,
  ) {}

  static fromFd(fd: number, name?: string): Program {
    const info = nativeCall(() => addon().progInfo(fd));
    return new Program(fd, name ?? info.name, info.type);
  }

  static openPinned(path: string): Program {
    const fd = nativeCall(() => addon().objGet(path));
    const p = Program.fromFd(fd);
    p.pinnedAt = path;
    return p;
  }

  static fromId(id: number): Program {
    return Program.fromFd(nativeCall(() => addon().fdById('prog', id)));
  }

  get fd(): number {
    if (this.closed) throw ErrClosed.of('EBADF', 'Program', `program '${this.name}' is closed`);
    return this.ownFd;
  }

  get typeName(): string {
    return nameOf(ProgType, this.type);
  }

  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  run(opts: RunOptions): RunResult {
    const live = opts.xdpLiveFrames ?? false;
    const flags = (opts.flags ?? 0) | (live ? TestRunFlag.xdpLiveFrames : 0);
    const dataOutSize = live ? 0 : (opts.dataOutSize ?? (opts.data ? opts.data.length + 1024 : 0));
    const r = nativeCall(() =>
      addon().progTestRun(this.fd, {
        ...(opts.data ? { data: opts.data } : {}),
        ...(opts.ctx ? { ctx: opts.ctx } : {}),
        dataOutSize,
        ctxOutSize: opts.ctxOutSize ?? (opts.ctx ? Math.max(opts.ctx.length, 512) : 0),
        repeat: opts.repeat ?? 0,
        flags,
        cpu: opts.cpu ?? 0,
        batchSize: opts.batchSize ?? 0,
      }),
      `program '${this.name}'`,
    );
    return { retval: r.retval, duration: r.duration, data: r.data ?? Buffer.alloc(0), ctx: r.ctx ?? undefined };
  }

  info(): ProgramInfo {
    const i = nativeCall(() => addon().progInfo(this.fd));
    return { ...i, typeName: nameOf(ProgType, i.type) };
  }

  pin(path: string): void {
    nativeCall(() => addon().objPin(this.fd, path), `program '${this.name}'`);
    this.pinnedAt = path;
  }

  unpin(): void {
    this.pinnedAt = removePin(this.pinnedAt);
  }

  /** Unloads the program unless something else (a link, a pin, a filter) holds it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    nativeCall(() => addon().closeFd(this.ownFd));
  }
}
