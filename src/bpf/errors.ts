// Named errors of the eBPF library, cilium/ebpf style. Every error the library throws is a
// BpfError with a code, an errno and the operation that failed. The addon throws one shape (a
// NativeError with .code/.errno/.syscall, native/errors.cc); translateError() is the one place
// where that shape becomes a class. Errors the library raises itself (a bad argument, a closed
// object) are made with BpfError.of and carry the errno the kernel would have answered.
import os from 'node:os';

import { isNativeError, type NativeError } from './native.js';

export class BpfError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  /** What libbpf printed during the failed call, when it printed anything. */
  readonly libbpfLog: string | undefined;

  constructor(e: NativeError, message = e.message) {
    super(message, { cause: e });
    this.name = new.target.name;
    this.code = e.code;
    this.errno = e.errno;
    this.syscall = e.syscall;
    this.libbpfLog = e.libbpfLog || undefined;
  }

  /** What failed: the syscall or library call (`bpf_tc_attach`, `attachXdp`, `map 'routes'.get`). */
  get op(): string {
    return this.syscall;
  }

  /**
   * An error the library raises itself, before or instead of a syscall (a closed map, a program
   * of the wrong type for the hook): the errno the kernel would have answered, and the operation.
   */
  static of<T extends BpfError>(this: new (e: NativeError, message?: string) => T, code: string, op: string, message: string): T {
    const errno = code === 'ENOTSUPP' ? 524 : (os.constants.errno as Record<string, number>)[code] ?? 0;
    const e = Object.assign(new Error(message), { code, errno, syscall: op }) as NativeError;
    return new this(e, message);
  }
}

/** Lookup/delete/update-with-EXIST of a key the map does not hold. */
export class ErrKeyNotExist extends BpfError {}
/** Update with NOEXIST of a key the map already holds (always, for arrays). */
export class ErrKeyExist extends BpfError {}
/** A new key in a full map. */
export class ErrMapFull extends BpfError {}
/** The kernel or the map type lacks the operation (EOPNOTSUPP, or the kernel-internal ENOTSUPP). */
export class ErrNotSupported extends BpfError {}
/** A pin path, id, interface or namespace that is not there. */
export class ErrNotExist extends BpfError {}
/** A pin path or an attachment that is already there. */
export class ErrExist extends BpfError {}
export class ErrPermission extends BpfError {}
/** The hook is taken (e.g. another XDP program without a link). */
export class ErrBusy extends BpfError {}

/** A bad argument caught before any syscall: a codec value, a size, a name (EINVAL). */
export class ErrInvalid extends BpfError {}
/** A map, program, link or spec used after close: its fd may be another object's by now (EBADF). */
export class ErrClosed extends BpfError {}

/** ErrInvalid for `op`; the message is what the caller wrote. */
export function invalid(op: string, message: string): ErrInvalid {
  return ErrInvalid.of('EINVAL', op, message);
}

/** The verifier's closing statistics ("processed N insns (limit ...) ...", "verification time"). */
const VERIFIER_STATS = /^(processed \d+ insns|verification time|stack depth)/;

/** The verifier rejected a program; `verifierLog` is what it said (log level 1). */
export class VerifierError extends BpfError {
  readonly verifierLog: string;
  readonly program: string;

  constructor(e: NativeError) {
    const log = e.verifierLog ?? '';
    const prog = e.program ?? '?';
    // The summary is the log's last lines that say why, without the closing statistics.
    const last = log.trim().split('\n').filter((l) => !VERIFIER_STATS.test(l)).slice(-3).join('\n');
    super(e, `the verifier rejected program '${prog}' (${e.code}):\n${last}`);
    this.verifierLog = log;
    this.program = prog;
  }
}

function isElementOp(syscall: string): boolean {
  return /^bpf_map_(lookup|update|delete|get_next)/.test(syscall);
}

/**
 * Turns whatever a native call threw into the library's error classes; `context` (e.g. "map
 * 'routes'") is put in front of the message.
 */
export function translateError(e: unknown, context?: string): unknown {
  if (e instanceof BpfError || !isNativeError(e)) return e; // classified already, or not the addon's
  const out = classify(e);
  if (context) out.message = `${context}: ${out.message}`;
  return out;
}

function classify(e: NativeError): BpfError {
  const elem = isElementOp(e.syscall);
  switch (e.code) {
    case 'ENOENT':
      return elem ? new ErrKeyNotExist(e) : new ErrNotExist(e);
    case 'ENODEV':
      return new ErrNotExist(e);
    case 'EEXIST':
      return elem ? new ErrKeyExist(e) : new ErrExist(e);
    case 'E2BIG':
      return elem ? new ErrMapFull(e) : new BpfError(e);
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
      return new ErrNotSupported(e);
    case 'EBUSY':
      return new ErrBusy(e);
    case 'EPERM':
    case 'EACCES':
      if (e.verifierLog) return new VerifierError(e);
      return new ErrPermission(e);
    default:
      return e.verifierLog ? new VerifierError(e) : new BpfError(e);
  }
}

/** Runs a native call, translating what it throws. */
export function nativeCall<T>(fn: () => T, context?: string): T {
  try {
    return fn();
  } catch (e) {
    throw translateError(e, context);
  }
}

/** A map offered for reuse (a replacement or a pinned map) differs from the object's definition. */
export class ErrMapIncompatible extends BpfError {
  readonly map: string;
  readonly differences: readonly string[];

  constructor(map: string, differences: readonly string[], where: string) {
    const message = `map '${map}': ${where} is incompatible with the object's definition: ${differences.join('; ')}`;
    super(Object.assign(new Error(message), { code: 'EINVAL', errno: 22, syscall: 'Collection.load' }), message);
    this.map = map;
    this.differences = differences;
  }
}
