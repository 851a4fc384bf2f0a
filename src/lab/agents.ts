// Running agentd in a lab node: `ip netns exec <node-ns> node dist/src/agent/agentd.js ...`
// with the node's pin root and manifests directory. It writes its JSON log lines to
// <node dir>/agentd.log, which is followed here, so tests can wait for "agentd ready" and read
// each "reconciled" summary. The lab kills every agent it started when it is destroyed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Lab, LabNode } from './lab.js';
import { exited, labPatienceMs, patient } from './sh.js';

export const AGENTD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent/agentd.js');
export const AGENTCTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/agentctl.js');

export interface AgentOptions {
  decapHook?: 'xdp' | 'tc' | 'auto';
  /** Leave out --uplink: agentd finds the interface holding the node address. */
  detectUplink?: boolean;
  debounceMs?: number;
  listen?: string;
  cleanupOnExit?: boolean;
  logLevel?: string;
  extraArgs?: string[];
  /**
   * Give up waiting for "agentd ready" after this long: default BURROW_LAB_READY_MS from the
   * environment, else 20 s (slow machines and emulated kernels need more: docs/kernels.md).
   */
  readyTimeoutMs?: number;
  /**
   * Runs agentd some other way than `ip netns exec <ns> node agentd.js` (e.g. from the image:
   * `podman run … --network ns:/run/netns/<ns> IMAGE agentd …`, test/deploy/image.ts): `argv` gets
   * agentd's own arguments and returns the whole command line; `stop` runs when the lab is
   * destroyed, after the command was killed (to remove what it left, e.g. the container).
   */
  launch?: { argv: (node: LabNode, agentdArgs: readonly string[]) => string[]; stop?: () => void };
}

export interface AgentLogRecord {
  level: number;
  msg: string;
  component?: string;
  [key: string]: unknown;
}

export class LabAgent {
  readonly records: AgentLogRecord[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly tailer: NodeJS.Timeout;
  private offset = 0;
  private partial = '';

  /** agentd writes to `logFile` directly (no pipe), so it keeps running if the lab is kept. */
  constructor(
    readonly node: LabNode,
    readonly child: ChildProcess,
    readonly logFile: string,
    /** Where this agentd's lines start in the (appended) log file. */
    start = 0,
  ) {
    this.offset = start;
    this.tailer = setInterval(() => this.readLog(), 20);
    this.tailer.unref();
    child.on('exit', () => {
      this.readLog();
      clearInterval(this.tailer);
      for (const w of this.waiters) w();
    });
  }

  private readLog(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.logFile, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(1 << 16);
      let n: number;
      let got = false;
      while ((n = fs.readSync(fd, buf, 0, buf.length, this.offset)) > 0) {
        this.offset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
        got = true;
      }
      if (!got) return;
    } finally {
      fs.closeSync(fd);
    }
    let i;
    while ((i = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, i);
      this.partial = this.partial.slice(i + 1);
      try {
        this.records.push(JSON.parse(line) as AgentLogRecord);
      } catch {
        this.records.push({ level: 30, msg: line });
      }
    }
    for (const w of this.waiters) w();
  }

  /**
   * Reads what agentd logged so far into `records` now (the tailer reads every 20 ms): agentd logs
   * synchronously, so afterwards `records` holds every line written before this call.
   */
  catchUp(): void {
    this.readLog();
  }

  /** Stops following the log and lets this process exit while agentd runs on (`--keep`). */
  release(): void {
    clearInterval(this.tailer);
    this.child.unref();
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** "reconciled" summaries so far, oldest first. */
  reconciles(): AgentLogRecord[] {
    return this.records.filter((r) => r.msg === 'reconciled');
  }

  /** Waits for a log record matching `pred` (index >= `from`); rejects on exit or timeout. */
  waitFor(pred: (r: AgentLogRecord) => boolean, timeoutMs = patient(10_000), from = 0): Promise<AgentLogRecord> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.records.slice(from).find(pred);
        if (hit) {
          done();
          resolve(hit);
          return true;
        }
        if (!this.running) {
          done();
          reject(new Error(`agentd on ${this.node.name} exited (${this.child.exitCode ?? this.child.signalCode}); log: ${this.logFile}\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`agentd on ${this.node.name}: no matching log line within ${timeoutMs} ms; log: ${this.logFile}\n${this.tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(listener);
      };
      const listener = () => void check();
      this.waiters.add(listener);
      check();
    });
  }

  /** The next "reconciled" summary after the ones seen so far. */
  nextReconcile(timeoutMs = patient(10_000)): Promise<AgentLogRecord> {
    return this.waitFor((r) => r.msg === 'reconciled', timeoutMs, this.records.length);
  }

  tail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return exited(this.child);
  }
}

/** Starts agentd for `nodeName` and resolves once it logged "agentd ready". */
export async function startAgent(lab: Lab, nodeName: string, opts: AgentOptions = {}): Promise<LabAgent> {
  const node = lab.node(nodeName);
  const agentdArgs = [
    '--node', node.name,
    '--manifests', node.manifestsDir,
    ...(opts.detectUplink ? [] : ['--uplink', (node.uplinks ?? [node.uplink]).join(',')]),
    '--pin-root', node.pinRoot,
    '--decap-hook', opts.decapHook ?? 'auto',
    '--debounce', String(opts.debounceMs ?? 200),
    '--log-level', opts.logLevel ?? 'info',
    ...(opts.listen ? ['--listen', opts.listen] : []),
    ...(opts.cleanupOnExit ? ['--cleanup-on-exit'] : []),
    ...(opts.extraArgs ?? []),
  ];
  const args = opts.launch ? opts.launch.argv(node, agentdArgs) : ['ip', 'netns', 'exec', node.ns, process.execPath, AGENTD, ...agentdArgs];
  const logFile = path.join(node.dir, 'agentd.log');
  const out = fs.openSync(logFile, 'a');
  const start = fs.fstatSync(out).size;
  // Its own process group: a Ctrl-C meant for a demo that keeps its lab does not stop agentd.
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  lab.onDestroy(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    opts.launch?.stop?.();
  });
  const agent = new LabAgent(node, child, logFile, start);
  await agent.waitFor((r) => r.msg === 'agentd ready', opts.readyTimeoutMs ?? labPatienceMs());
  return agent;
}

/** `agentctl ARGS` inside node `nodeName`'s namespace, with its pin root. */
export function agentctlArgv(lab: Lab, nodeName: string, args: readonly string[]): string[] {
  const node = lab.node(nodeName);
  return ['ip', 'netns', 'exec', node.ns, process.execPath, AGENTCTL, '--pin-root', node.pinRoot, ...args];
}
