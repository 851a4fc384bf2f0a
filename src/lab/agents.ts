// Running agentd in a lab node: `ip netns exec <node-ns> node dist/src/agent/agentd.js ...`
// with the node's pin root and manifests directory. Its JSON log lines are kept (and appended
// to <node dir>/agentd.log) so tests can wait for "agentd ready" and read each "reconciled"
// summary. The lab kills every agent it started when it is destroyed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Lab, LabNode } from './lab.js';
import { exited } from './sh.js';

export const AGENTD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent/agentd.js');
export const AGENTCTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/agentctl.js');

export interface AgentOptions {
  decapHook?: 'xdp' | 'tc' | 'auto';
  debounceMs?: number;
  listen?: string;
  cleanupOnExit?: boolean;
  logLevel?: string;
  extraArgs?: string[];
  /** Give up waiting for "agentd ready" after this long (default 20 s). */
  readyTimeoutMs?: number;
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

  constructor(
    readonly node: LabNode,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      fs.appendFileSync(logFile, chunk);
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          this.records.push(JSON.parse(line) as AgentLogRecord);
        } catch {
          this.records.push({ level: 30, msg: line });
        }
      }
      for (const w of this.waiters) w();
    });
    child.stderr?.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
    child.on('exit', () => {
      for (const w of this.waiters) w();
    });
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
  waitFor(pred: (r: AgentLogRecord) => boolean, timeoutMs = 10_000, from = 0): Promise<AgentLogRecord> {
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
  nextReconcile(timeoutMs = 10_000): Promise<AgentLogRecord> {
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
  const args = [
    'ip', 'netns', 'exec', node.ns, process.execPath, AGENTD,
    '--node', node.name,
    '--manifests', node.manifestsDir,
    '--uplink', node.uplink,
    '--pin-root', node.pinRoot,
    '--decap-hook', opts.decapHook ?? 'auto',
    '--debounce', String(opts.debounceMs ?? 200),
    '--log-level', opts.logLevel ?? 'info',
    ...(opts.listen ? ['--listen', opts.listen] : []),
    ...(opts.cleanupOnExit ? ['--cleanup-on-exit'] : []),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.onDestroy(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const agent = new LabAgent(node, child, path.join(node.dir, 'agentd.log'));
  await agent.waitFor((r) => r.msg === 'agentd ready', opts.readyTimeoutMs ?? 20_000);
  return agent;
}

/** `agentctl ARGS` inside node `nodeName`'s namespace, with its pin root. */
export function agentctlArgv(lab: Lab, nodeName: string, args: readonly string[]): string[] {
  const node = lab.node(nodeName);
  return ['ip', 'netns', 'exec', node.ns, process.execPath, AGENTCTL, '--pin-root', node.pinRoot, ...args];
}
