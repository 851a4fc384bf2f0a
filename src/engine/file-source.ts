/**
 * The file source (issue 9): manifests from files and directories, fed to the incremental engine
 * as events (./events.ts), re-reading only the file that changed.
 *
 * Paths are what agentd is given, as in src/config/load.ts: a file, or a directory whose
 * *.yaml, *.yml and *.json entries (directly inside, sorted by name) are manifests. Source ids are
 * file paths as load.ts names them (`path.join(dir, name)`, or the argument itself); the order of
 * a source is [index of the path argument, file path].
 *
 * start()  one sink call: a `replace` for every manifest file found, plus error-only `replace`s
 *          (source id = the path argument) for a path that cannot be read ('read', "cannot read:
 *          no such file or directory") and for a directory without manifests ('no-manifests').
 *          Then it watches.
 *
 * Watching: fs.watch on each directory argument, and on the parent directory of each file
 *   argument (filtered to its name, so that editors' write-to-temp-then-rename is seen). An event
 *   for a manifest name is debounced per file (`debounceMs`, default 100 ms: a save, a `cp` or a
 *   `git checkout` is a burst of events within a few ms; 100 ms coalesces it and still reacts
 *   well under a second); then that file alone is re-stat'ed: gone → `remove`, otherwise re-read →
 *   `replace`, skipped when its SHA-1 equals the last one emitted (no text is kept). Files that are
 *   due together (within debounceMs/2) are flushed together, in one sink call.
 *   Deleting a file, or a whole watched directory, withdraws what it held (`remove`s, no error):
 *   the 'read' error for a missing path is only what start() reports. A directory that goes away
 *   is polled every second (and its parent watched) until it is back, then re-armed and rescanned
 *   (`replace` for each file now there, `remove` for each that vanished). A directory left with no
 *   manifests is the 'no-manifests' error again, until a manifest appears.
 *   Symlinked manifests (a Kubernetes ConfigMap volume: `pools.yaml -> ..data/pools.yaml`, updated
 *   by swapping the `..data` symlink, which gives no event for `pools.yaml` itself) are re-checked
 *   on any event in their directory.
 *
 * Refusals: a `replace` of the file whose only item is `{ error }`, so that the engine rejects the
 *   file and keeps what it had applied from it:
 *   'not-regular-file'  a FIFO, socket or device. Never opened: open() of a FIFO blocks until a
 *                       writer comes, which used to wedge agentd. The path is stat'ed first, then
 *                       opened O_RDONLY|O_NONBLOCK|O_NOCTTY and the fd fstat'ed again (the path may
 *                       have been swapped in between).
 *   'file-too-large'    over `maxFileBytes`, default 64 MiB: the largest real manifest we plan for,
 *                       a 5,000-node cluster with 20 IPAM blocks a node as one multi-document YAML,
 *                       is about 16 MB, so 4x headroom; the limit only stops a runaway file (a log
 *                       named *.yaml, a disk image) from being read into memory. Enforced on the fd:
 *                       at most maxFileBytes + 1 bytes are read, so a file growing while it is read
 *                       is refused too.
 *   'read'              any other error reading it.
 *
 * Sink calls are always asynchronous (never inside start()'s caller's stack) and serialized: one
 * flush at a time. close() stops watchers, timers and polls; no sink call happens after it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import { parseManifestDocuments } from '../config/documents.js';
import { nonRegularKind, readErrorReason } from '../config/read-file.js';
import { compareOrder, type EventSink, type SourceEvent, type SourceItem, type SourceRef } from './events.js';

/** 64 MiB: 4x the ~16 MB multi-document YAML of a 5,000-node x 20-block cluster (see the header). */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DEBOUNCE_MS = 100;
/** How often a watched path that has disappeared is looked for. */
export const MISSING_POLL_MS = 1000;

export interface FileSourceOptions {
  readonly paths: readonly string[];
  readonly sink: EventSink;
  /** Files bigger than this are refused ('file-too-large'). Default DEFAULT_MAX_FILE_BYTES. */
  readonly maxFileBytes?: number;
  /** Quiet time after the last event for a file before it is re-read. Default DEFAULT_DEBOUNCE_MS. */
  readonly debounceMs?: number;
  readonly log?: Logger;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** What was last emitted for a source: `sha1:<hex>` or `error:<rule>:<message>`. */
interface Emitted {
  readonly key: string;
  /** The path is a symlink (re-checked on any event in its directory). */
  readonly symlink: boolean;
}

interface Arg {
  readonly index: number;
  readonly path: string;
  /** 'dir': `path` is a directory, watched itself. 'file': a file (or missing), watched through its parent. */
  mode: 'none' | 'dir' | 'file';
  watcher: fs.FSWatcher | undefined;
  /** dev:ino of the directory `watcher` watches. */
  watchedId: string | undefined;
  poll: NodeJS.Timeout | undefined;
  /** Dir mode: manifest files of the directory currently emitted, by name. */
  readonly files: Map<string, Emitted>;
  /** The source whose id is `path` itself: the file (file mode), or the directory's error (dir mode). */
  self: Emitted | undefined;
  /** Dir mode: the directory cannot be listed (this error instead of 'no-manifests'). */
  dirError: string | undefined;
}

interface Job {
  readonly arg: Arg;
  /** A file of the argument (dir mode: a name inside; file mode: the argument's basename); undefined: the argument itself. */
  readonly name: string | undefined;
  force: boolean;
  due: number;
}

type ReadOutcome =
  | { readonly kind: 'gone' }
  | { readonly kind: 'directory' }
  | { readonly kind: 'error'; readonly rule: string; readonly message: string; readonly symlink: boolean }
  | { readonly kind: 'content'; readonly key: string; readonly bytes: Buffer; readonly symlink: boolean };

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const isGone = (e: unknown): boolean => errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR';

const reason = readErrorReason;

function fileError(file: string, rule: string, message: string): ConfigDiagnostic {
  return { severity: 'error', file, document: 0, kind: '', name: '', path: '', rule, message };
}

const errorKey = (rule: string, message: string): string => `error:${rule}:${message}`;

const devIno = (st: { dev: number | bigint; ino: number | bigint }): string => `${st.dev}:${st.ino}`;

/** The documents of one file's bytes, decoded and parsed lazily each time the engine iterates. */
function itemsOf(bytes: Buffer, file: string): Iterable<SourceItem> {
  return { [Symbol.iterator]: () => parseManifestDocuments(bytes.toString('utf8'), file) };
}

/** The events of one flush: the last one per source wins; delivered sorted by load order. */
class Batch {
  private readonly events = new Map<string, SourceEvent>();

  replace(source: SourceRef, items: Iterable<SourceItem>): void {
    this.events.set(source.id, { type: 'replace', source, items });
  }

  remove(source: SourceRef): void {
    this.events.set(source.id, { type: 'remove', source });
  }

  get size(): number {
    return this.events.size;
  }

  sorted(): SourceEvent[] {
    return [...this.events.values()].sort((a, b) => compareOrder(a.source.order, b.source.order));
  }
}

export class FileSource {
  readonly maxFileBytes: number;
  readonly debounceMs: number;
  private readonly sink: EventSink;
  private readonly log: Logger | undefined;
  private readonly args: Arg[] = [];
  private readonly pending = new Map<string, Job>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private started = false;
  private closed = false;
  private reads = 0;

  constructor(opts: FileSourceOptions) {
    this.sink = opts.sink;
    this.log = opts.log;
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (!(Number.isSafeInteger(this.maxFileBytes) && this.maxFileBytes >= 0)) throw new RangeError(`maxFileBytes must be a non-negative integer, got ${opts.maxFileBytes}`);
    if (!(Number.isFinite(this.debounceMs) && this.debounceMs >= 0)) throw new RangeError(`debounceMs must be a non-negative number, got ${opts.debounceMs}`);
    const seen = new Set<string>();
    opts.paths.forEach((p, index) => {
      if (seen.has(p)) return; // the same path twice: one source, at its first position
      seen.add(p);
      this.args.push({ index, path: p, mode: 'none', watcher: undefined, watchedId: undefined, poll: undefined, files: new Map(), self: undefined, dirError: undefined });
    });
  }

  /** How many files have been opened and read so far (tests: a change re-reads only its file). */
  get readCount(): number {
    return this.reads;
  }

  /** Initial scan (one sink call), then watching. Rejects only if the sink throws (the source is then closed). */
  async start(): Promise<void> {
    if (this.started) throw new Error('FileSource.start() called twice');
    this.started = true;
    this.busy = true;
    try {
      const batch = new Batch();
      if (this.args.length === 0) {
        batch.replace({ id: '', order: [] }, [{ error: fileError('', 'no-manifests', 'no manifest files or directories given') }]);
      }
      for (const arg of this.args) {
        if (this.closed) return;
        await this.checkArg(arg, batch, { initial: true, force: false });
      }
      for (const arg of this.args) this.settleDir(arg, batch);
      if (this.closed) return;
      try {
        this.sink(batch.sorted());
      } catch (e) {
        this.close();
        throw e;
      }
    } finally {
      this.busy = false;
    }
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    for (const arg of this.args) {
      this.unarm(arg);
      this.stopPoll(arg);
    }
  }

  // ---- refs ----

  private fileId(arg: Arg, name: string | undefined): string {
    return arg.mode === 'dir' && name !== undefined ? path.join(arg.path, name) : arg.path;
  }

  private ref(arg: Arg, id: string): SourceRef {
    return { id, order: [arg.index, id] };
  }

  // ---- scheduling ----

  private enqueue(arg: Arg, name: string | undefined, delayMs: number, force = false): void {
    if (this.closed) return;
    const key = name === undefined ? `arg\0${arg.index}` : `file\0${arg.index}\0${name}`;
    const due = Date.now() + delayMs;
    const job = this.pending.get(key);
    if (job) {
      // An event restarts the debounce; an immediate request (poll) never postpones one.
      job.due = delayMs === 0 ? Math.min(job.due, due) : due;
      job.force ||= force;
    } else {
      this.pending.set(key, { arg, name, force, due });
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.busy || !this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    let next = Infinity;
    for (const job of this.pending.values()) next = Math.min(next, job.due);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runFlush();
    }, Math.max(0, next - Date.now()));
  }

  private async runFlush(): Promise<void> {
    if (this.closed || this.busy) return;
    this.busy = true;
    try {
      await this.flush();
    } catch (e) {
      this.log?.error({ err: e }, 'file source: flush failed');
    } finally {
      this.busy = false;
    }
    this.schedule();
  }

  private async flush(): Promise<void> {
    const horizon = Date.now() + this.debounceMs / 2;
    const jobs: Job[] = [];
    for (const [key, job] of this.pending) {
      if (job.due <= horizon) {
        jobs.push(job);
        this.pending.delete(key);
      }
    }
    if (jobs.length === 0) return;
    const batch = new Batch();
    const covered = new Set<Arg>();
    for (const job of jobs) {
      if (job.name !== undefined || this.closed) continue;
      if (await this.checkArg(job.arg, batch, { initial: false, force: job.force })) covered.add(job.arg);
    }
    for (const job of jobs) {
      if (job.name === undefined || covered.has(job.arg) || this.closed) continue;
      await this.checkFile(job.arg, job.name, batch, false);
    }
    for (const arg of this.args) this.settleDir(arg, batch);
    if (this.closed || batch.size === 0) return;
    const events = batch.sorted();
    this.log?.debug({ events: events.map((e) => `${e.type} ${e.source.id}`) }, 'file source: changes');
    try {
      this.sink(events);
    } catch (e) {
      this.log?.error({ err: e }, 'file source: sink failed');
    }
  }

  // ---- watching ----

  private unarm(arg: Arg): void {
    arg.watcher?.close();
    arg.watcher = undefined;
    arg.watchedId = undefined;
  }

  private startPoll(arg: Arg): void {
    if (this.closed || arg.poll) return;
    arg.poll = setInterval(() => {
      void (async () => {
        let there = await stat(arg.path).then(() => true, () => false);
        if (!there && !arg.watcher) there = await stat(path.dirname(arg.path)).then((s) => s.isDirectory(), () => false);
        if (there && !this.closed) this.enqueue(arg, undefined, 0);
      })();
    }, MISSING_POLL_MS);
  }

  private stopPoll(arg: Arg): void {
    if (arg.poll) clearInterval(arg.poll);
    arg.poll = undefined;
  }

  /** Watches `dir` for `arg`; false if it cannot be watched (gone). */
  private arm(arg: Arg, dir: string, id: string): boolean {
    if (this.closed) return false;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: true }, (_event, filename) => {
        if (this.closed || arg.watcher !== watcher) return;
        this.onWatchEvent(arg, dir, filename === null || filename === undefined ? undefined : String(filename));
      });
    } catch (e) {
      if (!isGone(e)) this.log?.warn({ dir, err: e }, 'file source: cannot watch directory');
      return false;
    }
    watcher.on('error', (e) => {
      if (arg.watcher !== watcher) return;
      // Not seen on Linux when a directory is deleted (see onWatchEvent), but possible (e.g. EPERM).
      this.log?.warn({ dir, err: e }, 'file source: watcher failed');
      this.unarm(arg);
      this.enqueue(arg, undefined, this.debounceMs, true);
    });
    arg.watcher = watcher;
    arg.watchedId = id;
    return true;
  }

  private onWatchEvent(arg: Arg, dir: string, name: string | undefined): void {
    if (name === undefined) {
      this.enqueue(arg, undefined, this.debounceMs, true);
      return;
    }
    // inotify reports the watched directory's own deletion or move (IN_DELETE_SELF, IN_MOVE_SELF,
    // IN_IGNORED) as 'rename' of the directory's basename, and then goes silent. A child of that
    // name gets the same event: checking the directory is cheap, so check it either way.
    if (name === path.basename(dir)) this.enqueue(arg, undefined, this.debounceMs);
    if (arg.mode === 'dir') {
      if (MANIFEST_FILE.test(name)) this.enqueue(arg, name, this.debounceMs);
      else for (const [n, f] of arg.files) if (f.symlink) this.enqueue(arg, n, this.debounceMs);
    } else if (name === path.basename(arg.path) || arg.self?.symlink) {
      this.enqueue(arg, path.basename(arg.path), this.debounceMs);
    }
  }

  // ---- checks ----

  /**
   * Resolves a path argument: a directory is watched and (re)scanned when it is new or another
   * inode; anything else is a file watched through its parent. Returns true when it has checked
   * every file of the argument (pending file checks of this flush are then redundant).
   */
  private async checkArg(arg: Arg, batch: Batch, opts: { initial: boolean; force: boolean }): Promise<boolean> {
    let st: fs.BigIntStats | undefined;
    let statError: unknown;
    try {
      st = await stat(arg.path, { bigint: true });
    } catch (e) {
      if (!isGone(e)) statError = e;
    }
    if (this.closed) return true;
    if (st) this.stopPoll(arg);

    if (st?.isDirectory()) {
      const id = devIno(st);
      if (arg.mode === 'dir' && arg.watcher && arg.watchedId === id && !opts.force) return false;
      if (arg.mode === 'file') this.withdrawSelf(arg, batch); // the file became a directory
      this.unarm(arg);
      arg.mode = 'dir';
      // Watch before listing: a file created meanwhile is then either listed or reported.
      if (!this.arm(arg, arg.path, id)) {
        this.enqueue(arg, undefined, this.debounceMs);
        return true;
      }
      await this.rescanDir(arg, batch, opts.initial);
      return true;
    }

    if (arg.mode === 'dir') {
      // The directory went away (or is something else now): withdraw what it held.
      this.log?.info({ dir: arg.path }, 'file source: watched directory is gone; polling for it');
      for (const name of arg.files.keys()) batch.remove(this.ref(arg, path.join(arg.path, name)));
      arg.files.clear();
      arg.dirError = undefined;
      this.withdrawSelf(arg, batch);
      this.unarm(arg);
    }
    arg.mode = 'file';
    if (statError !== undefined) {
      // Exists but cannot be stat'ed (EACCES, ELOOP…): unreadable.
      this.setSelf(arg, batch, errorKey('read', `cannot read: ${reason(statError)}`), false, () => [
        { error: fileError(arg.path, 'read', `cannot read: ${reason(statError)}`) },
      ]);
    }
    const parent = path.dirname(arg.path);
    const pst = await stat(parent, { bigint: true }).catch(() => undefined);
    if (this.closed) return true;
    if (!pst?.isDirectory()) {
      this.unarm(arg);
    } else if (!(arg.watcher && arg.watchedId === devIno(pst))) {
      this.unarm(arg);
      this.arm(arg, parent, devIno(pst));
    }
    if (!st) this.startPoll(arg);
    if (statError === undefined) await this.checkFile(arg, path.basename(arg.path), batch, opts.initial);
    return true;
  }

  private async rescanDir(arg: Arg, batch: Batch, initial: boolean): Promise<void> {
    let names: string[];
    try {
      const entries = await readdir(arg.path, { withFileTypes: true });
      names = entries.filter((e) => MANIFEST_FILE.test(e.name) && !e.isDirectory()).map((e) => e.name);
      arg.dirError = undefined;
    } catch (e) {
      if (isGone(e)) {
        this.enqueue(arg, undefined, this.debounceMs); // vanished again: resolve it anew
        return;
      }
      arg.dirError = `cannot read: ${reason(e)}`;
      return;
    }
    const all = new Set([...names, ...arg.files.keys()]);
    for (const name of [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (this.closed) return;
      await this.checkFile(arg, name, batch, initial);
    }
  }

  /** Re-stats and, if it is a regular file within the limit, re-reads one file; records the event. */
  private async checkFile(arg: Arg, name: string, batch: Batch, initial: boolean): Promise<void> {
    if (arg.mode === 'none') return;
    const id = this.fileId(arg, name);
    const outcome = await this.readFile(id);
    if (this.closed) return;
    const dirMode = arg.mode === 'dir';
    const prev = dirMode ? arg.files.get(name) : arg.self;
    const ref = this.ref(arg, id);

    if (outcome.kind === 'directory' && !dirMode) {
      // A file argument is a directory now (or a missing one appeared): resolve it again.
      this.enqueue(arg, undefined, 0);
      return;
    }
    if (outcome.kind === 'gone' || outcome.kind === 'directory') {
      if (!dirMode && initial) {
        const message = 'cannot read: no such file or directory';
        this.setSelf(arg, batch, errorKey('read', message), false, () => [{ error: fileError(id, 'read', message) }]);
        return;
      }
      // The 'read' error of a file argument missing since start stays until the file appears.
      if (prev === undefined || (!dirMode && prev.key === errorKey('read', 'cannot read: no such file or directory'))) return;
      if (dirMode) {
        arg.files.delete(name);
        // Belt and braces: the directory itself may be gone too (its own event can be lost).
        this.enqueue(arg, undefined, this.debounceMs);
      } else {
        arg.self = undefined;
      }
      batch.remove(ref);
      return;
    }
    const key = outcome.kind === 'content' ? outcome.key : errorKey(outcome.rule, outcome.message);
    if (prev?.key === key && prev.symlink === outcome.symlink) return;
    const emitted: Emitted = { key, symlink: outcome.symlink };
    if (dirMode) arg.files.set(name, emitted);
    else arg.self = emitted;
    if (prev?.key === key) return; // only the symlink flag changed
    if (outcome.kind === 'content') {
      batch.replace(ref, itemsOf(outcome.bytes, id));
    } else {
      if (outcome.rule !== 'read' || !initial) this.log?.warn({ file: id, rule: outcome.rule }, `manifest refused: ${outcome.message}`);
      batch.replace(ref, [{ error: fileError(id, outcome.rule, outcome.message) }]);
    }
  }

  private setSelf(arg: Arg, batch: Batch, key: string, symlink: boolean, items: () => SourceItem[]): void {
    if (arg.self?.key === key) return;
    arg.self = { key, symlink };
    batch.replace(this.ref(arg, arg.path), items());
  }

  private withdrawSelf(arg: Arg, batch: Batch): void {
    if (arg.self === undefined) return;
    arg.self = undefined;
    batch.remove(this.ref(arg, arg.path));
  }

  /** Dir mode: the directory's own source is its listing error, 'no-manifests' when empty, else nothing. */
  private settleDir(arg: Arg, batch: Batch): void {
    if (arg.mode !== 'dir') return;
    if (arg.dirError !== undefined) {
      const message = arg.dirError;
      this.setSelf(arg, batch, errorKey('read', message), false, () => [{ error: fileError(arg.path, 'read', message) }]);
    } else if (arg.files.size === 0) {
      const message = 'directory holds no *.yaml, *.yml or *.json manifests';
      this.setSelf(arg, batch, errorKey('no-manifests', message), false, () => [{ error: fileError(arg.path, 'no-manifests', message) }]);
    } else {
      this.withdrawSelf(arg, batch);
    }
  }

  /**
   * Stat, then (only for a regular file within the limit) open O_RDONLY|O_NONBLOCK, fstat the fd
   * again, and read at most maxFileBytes + 1 bytes from it.
   */
  private async readFile(file: string): Promise<ReadOutcome> {
    let symlink = false;
    let st: fs.Stats;
    try {
      st = await lstat(file);
      if (st.isSymbolicLink()) {
        symlink = true;
        st = await stat(file);
      }
    } catch (e) {
      if (isGone(e) && !symlink) return { kind: 'gone' };
      // A dangling symlink is listed but unreadable (as load.ts reports it).
      return { kind: 'error', rule: 'read', message: `cannot read: ${reason(e)}`, symlink };
    }
    if (st.isDirectory()) return { kind: 'directory' };
    const refused = this.refusal(st, symlink);
    if (refused) return refused;

    let fh: FileHandle;
    try {
      fh = await open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
    } catch (e) {
      if (isGone(e) && !symlink) return { kind: 'gone' };
      return { kind: 'error', rule: 'read', message: `cannot read: ${reason(e)}`, symlink };
    }
    try {
      const fst = await fh.stat();
      if (fst.isDirectory()) return { kind: 'directory' };
      const refusedFd = this.refusal(fst, symlink);
      if (refusedFd) return refusedFd;
      this.reads++;
      const max = this.maxFileBytes;
      const hash = createHash('sha1');
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const want = Math.min(Math.max(fst.size - total + 1, 64 * 1024), max + 1 - total);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, total);
        if (bytesRead === 0) break;
        const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
        chunks.push(chunk);
        hash.update(chunk);
        total += bytesRead;
        if (total > max) {
          return { kind: 'error', rule: 'file-too-large', message: `grew past ${max} bytes while being read (was ${fst.size} bytes); the limit for a manifest file is ${max} bytes`, symlink };
        }
      }
      return { kind: 'content', key: `sha1:${hash.digest('hex')}`, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), symlink };
    } catch (e) {
      return { kind: 'error', rule: 'read', message: `cannot read: ${reason(e)}`, symlink };
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  private refusal(st: fs.Stats, symlink: boolean): ReadOutcome | undefined {
    const what = nonRegularKind(st);
    if (what !== undefined) {
      return { kind: 'error', rule: 'not-regular-file', message: `is ${what}, not a regular file; manifests must be regular files`, symlink };
    }
    if (st.size > this.maxFileBytes) {
      return { kind: 'error', rule: 'file-too-large', message: `is ${st.size} bytes, over the ${this.maxFileBytes}-byte limit for a manifest file`, symlink };
    }
    return undefined;
  }
}
