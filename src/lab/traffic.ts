// Traffic and observation in the lab, shared by the e2e tests and the demo: ping (with its
// summary and any "frag needed" report parsed), a TCP transfer with a sha256 content check
// (tcp-peer.js at both ends), and packet captures (tcpdump to a file, read back with tshark).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { closed, exited, inNetns, labPatienceMs, patient, runAsync, sh, sleep } from './sh.js';

const TCP_PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'tcp-peer.js');

export interface PingOptions {
  count?: number;
  /** Seconds between packets (ping -i). */
  interval?: number;
  /** ICMP payload bytes (ping -s). */
  size?: number;
  /** Set DF and never fragment locally (ping -M do). */
  dontFragment?: boolean;
  /** Never set DF: fragment locally when needed (ping -M dont). */
  allowFragments?: boolean;
  /** Seconds to wait for each reply (ping -W); default replyWaitSeconds(). */
  wait?: number;
}

/**
 * ping's default -W: 1 s on a host; under TCG (BURROW_LAB_READY_MS raised, docs/kernels.md) a
 * reply through a freshly changed path can take longer than a second to come back, so a
 * sixtieth of the lab's patience (6 s at 360 s). Only a bound: replies come as fast as they come.
 */
export function replyWaitSeconds(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, Math.round(labPatienceMs(env) / 60_000));
}

export interface PingResult {
  transmitted: number;
  received: number;
  /** Replies missing, as a percentage of those sent. */
  lossPercent: number;
  /** The MTU an ICMP "frag needed" (or the local PMTU cache) reported, if any. */
  fragNeededMtu: number | undefined;
  output: string;
}

export function parsePing(output: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const transmitted = Number(m?.[1] ?? 0);
  const received = Number(m?.[2] ?? 0);
  const frag = /(?:[Ff]rag needed and DF set|message too long)[^\n]*?mtu ?= ?(\d+)/.exec(output);
  return {
    transmitted,
    received,
    lossPercent: transmitted === 0 ? 100 : (100 * (transmitted - received)) / transmitted,
    fragNeededMtu: frag ? Number(frag[1]) : undefined,
    output,
  };
}

function pingArgv(ns: string, dst: string, o: PingOptions): string[] {
  return inNetns(ns, [
    'ping', '-n', '-c', String(o.count ?? 3), '-i', String(o.interval ?? 0.2), '-W', String(o.wait ?? replyWaitSeconds()),
    ...(o.size !== undefined ? ['-s', String(o.size)] : []),
    ...(o.dontFragment ? ['-M', 'do'] : []),
    ...(o.allowFragments ? ['-M', 'dont'] : []),
    dst,
  ]);
}

export async function ping(ns: string, dst: string, o: PingOptions = {}): Promise<PingResult> {
  const r = await runAsync(pingArgv(ns, dst, o), { timeoutMs: patient(60_000) });
  return parsePing(r.stdout + r.stderr);
}

/** A ping running in the background (e.g. 100/s during a change); `done` resolves at its end. */
export function startPing(ns: string, dst: string, o: PingOptions): { done: Promise<PingResult>; stop(): void } {
  const argv = pingArgv(ns, dst, o);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  return {
    done: closed(child).then(() => parsePing(text)),
    stop: () => child.kill('SIGINT'),
  };
}

/** Reads JSON lines from a child, resolving each wait with the next line that matches. */
class JsonLines {
  private readonly lines: Record<string, unknown>[] = [];
  private readonly waiters = new Set<() => void>();
  /** The child exited and its output was read to the end. */
  private ended = false;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (b: Buffer) => {
      buffer += b.toString();
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        try {
          this.lines.push(JSON.parse(buffer.slice(0, i)) as Record<string, unknown>);
        } catch {
          this.lines.push({ text: buffer.slice(0, i) });
        }
        buffer = buffer.slice(i + 1);
      }
      for (const w of this.waiters) w();
    });
    child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    // 'close', not 'exit': the last lines may still be unread when 'exit' comes.
    void closed(child).then(() => {
      this.ended = true;
      for (const w of this.waiters) w();
    });
  }

  next(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms ${this.stderr.trim()}`)), timeoutMs);
      const finish = (e?: Error, line?: Record<string, unknown>) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) reject(e);
        else resolve(line!);
      };
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) return finish(undefined, hit);
        const err = this.lines.find((l) => 'error' in l);
        if (err) return finish(new Error(String(err.error)));
        if (this.ended) finish(new Error(`exited (${this.child.exitCode ?? this.child.signalCode}) ${this.stderr.trim()}`));
      };
      this.waiters.add(check);
      check();
    });
  }
}

function spawnPeer(ns: string, args: string[]): JsonLines {
  const argv = inNetns(ns, [process.execPath, TCP_PEER, ...args]);
  return new JsonLines(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A one-shot TCP listener that reports who connected and what it received. */
export interface TcpListener {
  /** Resolves with the peer address, byte count and sha256 once the sender closed. */
  result: Promise<{ peer: string; bytes: number; sha256: string }>;
  kill(): void;
}

export async function listenTcp(ns: string, port: number, timeoutMs = patient(30_000)): Promise<TcpListener> {
  const p = spawnPeer(ns, ['listen', String(port)]);
  // Bounds only a failing run (patient: under TCG a node process takes seconds to start).
  await p.next((l) => l.ready === true, patient(10_000));
  const result = p.next((l) => typeof l.sha256 === 'string', timeoutMs).then((l) => ({
    peer: String(l.peer),
    bytes: Number(l.bytes),
    sha256: String(l.sha256),
  }));
  result.catch(() => undefined);
  return { result, kill: () => p.child.kill('SIGKILL') };
}

export interface TransferResult {
  ok: boolean;
  bytes: number;
  sent: { bytes: number; sha256: string };
  received: { peer: string; bytes: number; sha256: string };
  seconds: number;
  /** Goodput, Mbit/s. */
  mbps: number;
}

/** Sends `bytes` random bytes from namespace `fromNs` to `toAddress:port` served in `toNs`. */
export async function tcpTransfer(fromNs: string, toNs: string, toAddress: string, bytes: number, port = 5201, timeoutMs = patient(60_000)): Promise<TransferResult> {
  const listener = await listenTcp(toNs, port, timeoutMs);
  try {
    const sender = spawnPeer(fromNs, ['send', toAddress, String(port), String(bytes)]);
    const [sent, received] = await Promise.all([
      sender.next((l) => typeof l.sha256 === 'string', timeoutMs),
      listener.result,
    ]);
    const seconds = Number(sent.seconds);
    return {
      ok: received.bytes === bytes && received.sha256 === sent.sha256,
      bytes,
      sent: { bytes: Number(sent.bytes), sha256: String(sent.sha256) },
      received,
      seconds,
      mbps: (bytes * 8) / seconds / 1e6,
    };
  } finally {
    listener.kill();
  }
}

/** One line of a capture: the fields tshark printed (comma-joined when a field repeats: IPIP's outer and inner IP). */
export interface CapturedPacket {
  src: string[];
  dst: string[];
  proto: number[];
  udpDstPort: number | undefined;
  vni: number | undefined;
  iface: string;
}

export interface Capture {
  readonly file: string;
  /** Stops tcpdump and returns the packets it saw. */
  stop(): Promise<CapturedPacket[]>;
}

/** tcpdump on every interface of namespace `ns` (optionally filtered), writing to `file`. */
export async function startCapture(ns: string, file: string, filter: readonly string[] = []): Promise<Capture> {
  const argv = inNetns(ns, ['tcpdump', '-i', 'any', '-n', '-U', '--immediate-mode', '-s', '256', '-w', file, ...filter]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), patient(10_000));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`tcpdump exited: ${err}`)));
  });
  return {
    file,
    async stop() {
      await sleep(100); // let the last packets reach the ring before tcpdump stops reading it
      child.kill('SIGINT');
      await exited(child);
      return readCapture(file);
    },
  };
}

export function readCapture(file: string): CapturedPacket[] {
  // tshark reading a finished file does not hang; the bound is only for a broken tool. It must not
  // be sh's usual one: under qemu's TCG tshark's start (registering every dissector) alone takes
  // tens of seconds, and a timeout's SIGTERM makes tshark stop reading and exit 2 without a word.
  const out = sh(['tshark', '-r', file, '-n', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto', '-e', 'udp.dstport', '-e', 'vxlan.vni', '-e', 'sll.ifindex'], { timeoutMs: 600_000 });
  const list = (s: string | undefined) => (s ? s.split(',') : []);
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [src, dst, proto, port, vni, iface] = l.split('\t');
      return {
        src: list(src),
        dst: list(dst),
        proto: list(proto).map(Number),
        udpDstPort: port ? Number(port.split(',')[0]) : undefined,
        vni: vni ? Number(vni.split(',')[0]) : undefined,
        iface: iface ?? '',
      };
    });
}

/** A TCP SYN or SYN-ACK seen in a capture, with its (innermost) addresses and MSS option. */
export interface CapturedSyn {
  src: string;
  dst: string;
  ack: boolean;
  /** Outer protocol numbers as tshark printed them (4: inside IPIP; 17: inside VXLAN). */
  proto: number[];
  /** The MSS option's value; undefined when the SYN has none. */
  mss: number | undefined;
}

/** The SYNs of a capture (tshark decodes IPIP, and VXLAN on port 4789): innermost addresses and MSS. */
export function readSyns(file: string): CapturedSyn[] {
  const out = sh(['tshark', '-r', file, '-n', '-Y', 'tcp.flags.syn == 1', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto', '-e', 'tcp.flags.ack', '-e', 'tcp.options.mss_val']);
  const last = (s: string | undefined) => (s ? s.split(',').at(-1) ?? '' : '');
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [src, dst, proto, ack, mss] = l.split('\t');
      return {
        src: last(src),
        dst: last(dst),
        ack: ack === '1' || ack === 'True',
        proto: (proto ?? '').split(',').filter(Boolean).map(Number),
        mss: mss ? Number(mss) : undefined,
      };
    });
}

/** What a namespace's IP layer received: packets (skbs) and the segments they carried. */
export interface IpReceive {
  /** `Ip InReceives`: one per packet handed to ip_rcv, merged or not. */
  packets: number;
  /** `IpExt In{NoECT,ECT1,ECT0,CE}Pkts`: ip_rcv adds each packet's gso_segs, so a GRO-merged packet counts its segments. */
  segments: number;
}

/** `/proc/net/snmp` + `/proc/net/netstat` of a namespace as "Ip.InReceives" → value. */
function netCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n').filter((l) => l.trim());
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!.split(/\s+/);
    const vals = lines[i + 1]!.split(/\s+/);
    const group = head[0]!.replace(/:$/, '');
    if (vals[0] !== head[0]) throw new Error(`unexpected counter lines '${lines[i]}' / '${lines[i + 1]}'`);
    for (let j = 1; j < head.length; j++) out.set(`${group}.${head[j]}`, Number(vals[j]));
  }
  return out;
}

/** The IP receive counters of namespace `ns` (GRO's effect: segments per packet). */
export function ipReceive(ns: string): IpReceive {
  const c = netCounters(sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp', '/proc/net/netstat']));
  const need = (k: string) => {
    const v = c.get(k);
    if (v === undefined || !Number.isFinite(v)) throw new Error(`namespace ${ns} has no counter ${k}`);
    return v;
  };
  const segments = ['IpExt.InNoECTPkts', 'IpExt.InECT1Pkts', 'IpExt.InECT0Pkts', 'IpExt.InCEPkts'].reduce((a, k) => a + need(k), 0);
  return { packets: need('Ip.InReceives'), segments };
}
