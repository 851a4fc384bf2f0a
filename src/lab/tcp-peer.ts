#!/usr/bin/env node
// A TCP sender and receiver for content checks, run inside pod namespaces by the lab:
//
//   tcp-peer.js listen PORT            prints {"ready":true}, accepts one connection, reads it to
//                                      the end, prints {"peer","bytes","sha256"} and exits
//   tcp-peer.js send HOST PORT BYTES   writes BYTES random bytes in 1 MiB writes, prints
//                                      {"bytes","sha256","seconds"} once the peer has everything
//
// One JSON line per event on stdout; exit code 1 on any socket error (printed as {"error"}).
import crypto from 'node:crypto';
import net from 'node:net';

const CHUNK = 1 << 20;

function out(value: object): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function fail(e: unknown): never {
  out({ error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

function listen(port: number): void {
  const server = net.createServer((sock) => {
    server.close();
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    const peer = sock.remoteAddress?.replace(/^::ffff:/, '');
    sock.on('data', (b: Buffer) => {
      hash.update(b);
      bytes += b.length;
    });
    sock.on('end', () => {
      out({ peer, peerPort: sock.remotePort, bytes, sha256: hash.digest('hex') });
      sock.end(() => process.exit(0));
    });
    sock.on('error', fail);
  });
  server.on('error', fail);
  server.listen(port, '0.0.0.0', () => out({ ready: true, port }));
}

function send(host: string, port: number, total: number): void {
  const started = process.hrtime.bigint();
  const hash = crypto.createHash('sha256');
  const sock = net.connect({ host, port });
  sock.setTimeout(20_000, () => fail(new Error('timed out')));
  sock.on('error', fail);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent);
      const chunk = crypto.randomBytes(n);
      hash.update(chunk);
      sent += n;
      if (!sock.write(chunk)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  sock.on('connect', pump);
  // The receiver closes its side only after it has read everything.
  sock.on('close', (hadError) => {
    if (hadError) return;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    out({ bytes: sent, sha256: hash.digest('hex'), seconds });
    process.exit(0);
  });
  sock.resume();
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'listen' && args.length === 1) listen(Number(args[0]));
else if (mode === 'send' && args.length === 3) send(args[0]!, Number(args[1]), Number(args[2]));
else fail(new Error('usage: tcp-peer.js listen PORT | send HOST PORT BYTES'));
