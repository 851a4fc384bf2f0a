// Runs etcd operations from inside a network namespace (the test process cannot reach an etcd
// that listens in a lab namespace): `ip netns exec NS node etcd-ops.js ENDPOINT '<json ops>'`,
// ops [{ "put": key, "value": text } | { "delete": key } | { "get": key }]; prints the gets as JSON.
import { Etcd3 } from 'etcd3';

const [endpoint, json] = process.argv.slice(2);
const client = new Etcd3({ hosts: [endpoint!], dialTimeout: 2000 });
const out: (string | null)[] = [];
try {
  for (const op of JSON.parse(json ?? '[]') as Array<{ put?: string; value?: string; delete?: string; get?: string }>) {
    if (op.put !== undefined) await client.put(op.put).value(op.value ?? '');
    else if (op.delete !== undefined) await client.delete().key(op.delete);
    else if (op.get !== undefined) out.push(await client.get(op.get).string());
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  client.close();
}
