// The fake API server (a TEST DOUBLE: no kube-apiserver can be installed here; see
// fake-apiserver.ts) run as its own process, so that it can live inside a lab node's network
// namespace: `ip netns exec NS node fake-apiserver-cli.js HOST`. It prints one JSON line
// {"kubeconfig": path} when listening, then takes one JSON command per stdin line —
// {"op":"put","collection","object"} | {"op":"delete","collection","name"} | {"op":"compact"} |
// {"op":"dropWatches"} — answering "ok" or "error: …" per line; stdin closed → it exits.
import readline from 'node:readline';

import { FakeApiServer } from './fake-apiserver.js';

const server = await FakeApiServer.start(process.argv[2] ?? '127.0.0.1');
process.stdout.write(`${JSON.stringify({ kubeconfig: server.kubeconfigFile() })}\n`);
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  try {
    const c = JSON.parse(line) as { op: string; collection?: string; object?: Record<string, unknown>; name?: string };
    if (c.op === 'put') server.put(c.collection!, c.object! as Parameters<FakeApiServer['put']>[1]);
    else if (c.op === 'delete') server.delete(c.collection!, c.name!);
    else if (c.op === 'compact') server.compact();
    else if (c.op === 'dropWatches') server.dropWatches();
    else throw new Error(`unknown op ${c.op}`);
    process.stdout.write('ok\n');
  } catch (e) {
    process.stdout.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  }
});
rl.on('close', () => {
  void server.close().then(() => process.exit(0));
});
