/**
 * A long-lived event child (`nft monitor`, `ip monitor`), read line by line: started in agentd's
 * network namespace, restarted with a backoff when it dies (tool missing, killed), stopped with
 * SIGTERM. Used by the nft table watch (nft-watch.ts) and the next-hop keeper (nexthops.ts); both
 * also have a periodic pass that covers a gap while the child is down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Logger } from 'pino';

export interface MonitorChildOptions {
  /** argv of the child, e.g. ['ip', '-o', 'monitor', 'neigh']. */
  command: readonly string[];
  onLine: (line: string) => void;
  log: Logger;
  /** What is watched less closely while the child is down (the warning's text). */
  gap: string;
  /** First restart delay after the child exits; doubles up to maxBackoffMs. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export class MonitorChild {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restart: NodeJS.Timeout | undefined;
  private backoff: number;

  constructor(private readonly opts: MonitorChildOptions) {
    this.backoff = opts.backoffMs ?? 1000;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const [file, ...args] = this.opts.command;
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    const started = Date.now();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-500)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!this.stopped) this.opts.onLine(line);
    });
    const onEnd = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      if (Date.now() - started > 60_000) this.backoff = this.opts.backoffMs ?? 1000; // it ran a while: start over
      this.opts.log.warn({ command: this.opts.command.join(' '), why, stderr: stderr.trim() || undefined, retryInMs: this.backoff },
        `${file} monitor stopped; ${this.opts.gap} until it restarts`);
      this.restart = setTimeout(() => {
        this.restart = undefined;
        this.start();
      }, this.backoff);
      this.restart.unref();
      this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 60_000);
    };
    child.on('error', (e) => onEnd(e.message));
    child.on('exit', (code, signal) => onEnd(`exit ${code ?? signal}`));
  }

  stop(): void {
    this.stopped = true;
    if (this.restart) clearTimeout(this.restart);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}
