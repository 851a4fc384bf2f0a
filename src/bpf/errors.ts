// Named errors of the eBPF library, cilium/ebpf style. The addon throws one shape (a NativeError
// with .code/.errno/.syscall, native/errors.cc); translateError() is the one place where that shape
// becomes a class. Argument errors (TypeError, RangeError) pass through untouched.
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

/** The verifier rejected a program; `verifierLog` is what it said (log level 1). */
export class VerifierError extends BpfError {
  readonly verifierLog: string;
  readonly program: string;

  constructor(e: NativeError) {
    const log = e.verifierLog ?? '';
    const prog = e.program ?? '?';
    const last = log.trim().split('\n').slice(-3).join('\n');
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
  if (!isNativeError(e)) return e;
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
export class ErrMapIncompatible extends Error {
  constructor(
    readonly map: string,
    readonly differences: readonly string[],
    where: string,
  ) {
    super(`map '${map}': ${where} is incompatible with the object's definition: ${differences.join('; ')}`);
    this.name = 'ErrMapIncompatible';
  }
}
