// Reading a file a user named (a manifest, a certificate) without trusting what it is: only a
// regular file is read, and only up to a limit. A FIFO, socket or device is refused without being
// opened for reading — open() of a FIFO blocks until a writer comes, which wedged agentctl — and a
// file over the limit is refused before it is read (src/engine/file-source.ts does the same for
// agentd, with the same rules and words). The path is stat'ed, then opened
// O_RDONLY|O_NONBLOCK|O_NOCTTY and the fd stat'ed again (the path may have been swapped in
// between), and at most `maxBytes + 1` bytes are read, so a file growing meanwhile is refused too.
import fs from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** 64 MiB: 4x the ~16 MB multi-document YAML of a 5,000-node x 20-block cluster (file-source.ts). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export type ReadRefusal = { readonly rule: 'not-regular-file' | 'file-too-large' | 'read'; readonly message: string };
export type ReadOutcome = { readonly ok: true; readonly bytes: Buffer } | ({ readonly ok: false } & ReadRefusal);

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;

export function nonRegularKind(st: fs.Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'of an unknown type';
}

/** Why a read failed, in the words every reader uses (file-source.ts too). */
export const readErrorReason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
};

/** What is wrong with reading a file with these stats, if anything. */
function refusal(st: fs.Stats, maxBytes: number, what: string): ReadRefusal | undefined {
  const kind = nonRegularKind(st);
  if (kind !== undefined) return { rule: 'not-regular-file', message: `is ${kind}, not a regular file; ${what}s must be regular files` };
  if (st.size > maxBytes) return { rule: 'file-too-large', message: `is ${st.size} bytes, over the ${maxBytes}-byte limit for a ${what} file` };
  return undefined;
}

const grew = (maxBytes: number, size: number, what: string): ReadRefusal =>
  ({ rule: 'file-too-large', message: `grew past ${maxBytes} bytes while being read (was ${size} bytes); the limit for a ${what} file is ${maxBytes} bytes` });

/** The next read: the rest of the file as stat'ed and one byte more (to see it grew), at least 64 KiB, never past the limit + 1. */
const chunkSize = (size: number, total: number, maxBytes: number): number => Math.min(Math.max(size - total + 1, 64 * 1024), maxBytes + 1 - total);

/** A regular file's bytes, at most `maxBytes`; `what` names the kind of file in messages ('manifest', 'certificate'). */
export async function readRegularFile(file: string, maxBytes = MAX_MANIFEST_BYTES, what = 'manifest'): Promise<ReadOutcome> {
  try {
    const refused = refusal(await stat(file), maxBytes, what);
    if (refused) return { ok: false, ...refused };
    const fh = await open(file, OPEN_FLAGS);
    try {
      const st = await fh.stat();
      const refusedFd = refusal(st, maxBytes, what);
      if (refusedFd) return { ok: false, ...refusedFd };
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const want = chunkSize(st.size, total, maxBytes);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, total);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        total += bytesRead;
        if (total > maxBytes) return { ok: false, ...grew(maxBytes, st.size, what) };
      }
      return { ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) };
    } finally {
      await fh.close().catch(() => undefined);
    }
  } catch (e) {
    return { ok: false, rule: 'read', message: `cannot read: ${readErrorReason(e)}` };
  }
}

/** readRegularFile, synchronously (option files read once at start: certificates). */
export function readRegularFileSync(file: string, maxBytes: number, what: string): ReadOutcome {
  try {
    const refused = refusal(fs.statSync(file), maxBytes, what);
    if (refused) return { ok: false, ...refused };
    const fd = fs.openSync(file, OPEN_FLAGS);
    try {
      const st = fs.fstatSync(fd);
      const refusedFd = refusal(st, maxBytes, what);
      if (refusedFd) return { ok: false, ...refusedFd };
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const want = chunkSize(st.size, total, maxBytes);
        const buf = Buffer.allocUnsafe(want);
        const n = fs.readSync(fd, buf, 0, want, total);
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (total > maxBytes) return { ok: false, ...grew(maxBytes, st.size, what) };
      }
      return { ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) };
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return { ok: false, rule: 'read', message: `cannot read: ${readErrorReason(e)}` };
  }
}
