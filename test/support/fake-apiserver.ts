// A FAKE kube-apiserver for the Kubernetes datastore tests: a fake, because no kube-apiserver can
// be installed here (Debian 12 has none; only npm and Debian registries are reachable). It is not
// Kubernetes: no validation, no admission, no field selectors, no pagination, one global
// resourceVersion counter (etcd's revision in a real server). What it does reproduce is the wire
// protocol of list and watch for cluster-scoped collections, which is what the source depends on:
//
//   GET <collection>                         200 {"kind":"<Kind>List","apiVersion",metadata:{resourceVersion},items}
//                                            (each item carries metadata.resourceVersion, uid, creationTimestamp)
//   GET <collection>?watch=true&resourceVersion=N
//                                            200, Content-Type: application/json, chunked; one JSON object per
//                                            line: {"type":"ADDED|MODIFIED|DELETED|BOOKMARK","object":{...}}
//                                            for every change after N; BOOKMARK objects carry only
//                                            {kind, apiVersion, metadata:{resourceVersion}} (sent only when the
//                                            client asked allowWatchBookmarks=true, on bookmark())
//   N older than the history window          200 then {"type":"ERROR","object":{"kind":"Status",...,"code":410,
//                                            "reason":"Expired"}} and the stream closes (what the watch cache does)
//   failNext(status, n)                      the next n requests are answered `status` with a Status body
//                                            (429 with Retry-After: 1)
//   dropWatches()                            every open watch connection is cut (socket destroyed, as when the
//                                            apiserver restarts or the network drops)
//   endWatches(), timeoutSeconds=S           every open watch (or this one after S seconds) ends cleanly: the
//                                            response is finished, as the apiserver does when a watch's
//                                            timeout is up
//
// Requests must carry the bearer token of kubeconfigFile() (401 otherwise).
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

type Obj = { kind?: string; apiVersion?: string; metadata: { name: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };
type Change = { rv: number; collection: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj };

interface Watcher {
  collection: string;
  res: http.ServerResponse;
  socket: net.Socket;
  bookmarks: boolean;
}

const TOKEN = 'fake-apiserver-token';

export class FakeApiServer {
  private readonly server: http.Server;
  private port = 0;
  private rv = 100;
  /** Watches from a resourceVersion below this get 410. */
  private oldest = 0;
  private readonly collections = new Map<string, Map<string, Obj>>();
  private history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private failures: { status: number; left: number } | undefined;
  private dir: string | undefined;
  /** Every request seen: "GET /api/v1/nodes?watch=true&resourceVersion=7 → 200" (for assertions and debugging). */
  readonly requests: string[] = [];

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** `host`: the address to listen on (a lab node's, when started inside its namespace). */
  static async start(host = '127.0.0.1'): Promise<FakeApiServer> {
    const s = new FakeApiServer();
    s.host = host;
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, host, () => resolve());
    });
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  private host = '127.0.0.1';

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** How many watch connections are open (all collections). */
  get openWatches(): number {
    return this.watchers.size;
  }

  /** Creates or replaces an object of a collection (e.g. `/api/v1/nodes`); returns its resourceVersion. */
  put(collection: string, object: Obj): string {
    const items = this.collection(collection);
    const rv = ++this.rv;
    const old = items.get(object.metadata.name);
    const stored: Obj = JSON.parse(JSON.stringify(object)) as Obj;
    stored.metadata = {
      uid: (old?.metadata['uid'] as string | undefined) ?? `uid-${object.metadata.name}-${rv}`,
      creationTimestamp: (old?.metadata['creationTimestamp'] as string | undefined) ?? new Date(Date.UTC(2026, 0, 1)).toISOString().replace('.000', ''),
      generation: 1,
      ...stored.metadata,
      resourceVersion: String(rv),
    };
    items.set(object.metadata.name, stored);
    this.record({ rv, collection, type: old ? 'MODIFIED' : 'ADDED', object: stored });
    return String(rv);
  }

  /** Deletes an object; the DELETED event carries its last state at a new resourceVersion. */
  delete(collection: string, name: string): boolean {
    const items = this.collection(collection);
    const old = items.get(name);
    if (!old) return false;
    items.delete(name);
    const rv = ++this.rv;
    this.record({ rv, collection, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } } });
    return true;
  }

  /** Forgets the history: a watch from any resourceVersion before now gets 410 Expired. */
  compact(): void {
    this.rv++;
    this.oldest = this.rv;
    this.history = [];
  }

  /** The next `n` requests (lists and watches) are answered with `status` (429, 500, ...). */
  failNext(status: number, n: number): void {
    this.failures = { status, left: n };
  }

  /** Cuts every open watch connection. */
  dropWatches(): void {
    for (const w of this.watchers) w.socket.destroy();
    this.watchers.clear();
  }

  /** Ends every open watch cleanly (what the apiserver does when a watch's timeoutSeconds is up). */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Sends a BOOKMARK at the current resourceVersion to the watches that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const { kind, apiVersion } = this.typeOf(w.collection);
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind, apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
    }
  }

  /** Writes a kubeconfig pointing at this server (plain http, a bearer token); returns its path. */
  kubeconfigFile(): string {
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-fake-apiserver-'));
    const file = path.join(this.dir, 'kubeconfig');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      // client-node 1.x refuses a plain http server unless TLS verification is declared skipped.
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: TOKEN } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    };
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // ── the protocol ───────────────────────────────────────────────────────────────────────────

  private collection(p: string): Map<string, Obj> {
    let c = this.collections.get(p);
    if (!c) this.collections.set(p, (c = new Map()));
    return c;
  }

  /** Kind and apiVersion of a collection path: /api/v1/nodes → Node v1; /apis/g/v/plural → from the objects or the plural. */
  private typeOf(collection: string): { kind: string; apiVersion: string } {
    const first = this.collections.get(collection)?.values().next().value;
    const parts = collection.split('/').filter(Boolean);
    const apiVersion = parts[0] === 'api' ? parts[1]! : `${parts[1]}/${parts[2]}`;
    const plural = parts[parts.length - 1]!;
    const known: Record<string, string> = { nodes: 'Node', ippools: 'IPPool', blockaffinities: 'BlockAffinity', felixconfigurations: 'FelixConfiguration' };
    return { kind: first?.kind ?? known[plural] ?? plural, apiVersion };
  }

  private record(c: Change): void {
    this.history.push(c);
    for (const w of this.watchers) if (w.collection === c.collection) this.send(w, c);
  }

  private send(w: Watcher, c: Change): void {
    w.res.write(`${JSON.stringify({ type: c.type, object: c.object })}\n`);
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const log = (code: number) => this.requests.push(`${req.method} ${url.pathname}${url.search} → ${code}`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      log(401);
      this.status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (this.failures && this.failures.left > 0) {
      const { status } = this.failures;
      if (--this.failures.left === 0) this.failures = undefined;
      log(status);
      if (status === 429) this.status(res, 429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', { 'Retry-After': '1' });
      else this.status(res, status, status === 503 ? 'ServiceUnavailable' : 'InternalError', `Internal error occurred: injected failure (${status})`);
      return;
    }
    const m = /^(\/api\/v1\/[a-z]+|\/apis\/[^/]+\/[^/]+\/[a-z]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      log(404);
      this.status(res, 404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
      return;
    }
    const collection = m[1]!;
    const { kind, apiVersion } = this.typeOf(collection);
    const items = [...this.collection(collection).values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    if (!watch) {
      log(200);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    log(200);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const from = url.searchParams.get('resourceVersion') ?? '';
    const w: Watcher = { collection, res, socket: req.socket, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    if (from === '' || from === '0') {
      // "Any": the current state as ADDED events, then the changes.
      for (const object of items) this.send(w, { rv: this.rv, collection, type: 'ADDED', object });
    } else {
      const n = Number(from);
      if (!Number.isInteger(n) || n < this.oldest) {
        this.requests[this.requests.length - 1] += ' ERROR 410 Expired';
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.oldest})`, reason: 'Expired', code: 410 } })}\n`);
        return;
      }
      for (const c of this.history) if (c.collection === collection && c.rv > n) this.send(w, c);
    }
    this.watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '');
    const timer = timeout > 0 ? setTimeout(() => { this.watchers.delete(w); res.end(); }, timeout * 1000) : undefined;
    timer?.unref();
    const gone = () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(w);
    };
    res.on('close', gone);
    req.socket.on('close', gone);
  }
}
