// agentd's probes and metrics as an operator's Kubernetes and Prometheus see them (issue 14, 2
// and 3; docs/operations.md, "Probes" and "Metrics"): the HTTP server answers from the very
// start (/livez 200 while the datastore cannot be read yet, /startupz and /readyz 503 saying
// why); a datastore that goes away keeps the node ready and says stale; an invalid manifest edit
// keeps it live and ready with `config.valid: false` (the datapath forwards with the last good
// state) while the older /healthz says 503; a live scrape passes `promtool check metrics`, and
// traffic moves the datapath counters (encap/decap and a drop by reason).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import type { ExecutionContext } from 'ava';

import { startAgent } from '../../src/lab/agents.js';
import { Lab } from '../../src/lab/lab.js';
import { clusterManifests, poolManifest } from '../../src/lab/manifests.js';
import { runAsync, sleep } from '../../src/lab/sh.js';
import { ping } from '../../src/lab/traffic.js';
import { labWithAgents } from '../helpers/lab.js';
import { sendCrafted } from '../helpers/craft.js';
import { privileged } from '../helpers/privileged.js';
import { patient, until } from '../helpers/wait.js';
import { etcdOpsFor, TestEtcd } from '../support/etcd.js';

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown> & { status?: string; phase?: string; reasons?: string[] };
}

/**
 * GET http://127.0.0.1:PORT/PATH from inside namespace `ns` (agentd listens in its node's namespace).
 * The bounds only cut a hung request short (patient: under TCG starting node alone takes seconds).
 */
async function get(ns: string, port: number, p: string): Promise<Answer> {
  const r = await runAsync(['ip', 'netns', 'exec', ns, process.execPath, '-e',
    `fetch('http://127.0.0.1:${port}${p}', { signal: AbortSignal.timeout(${patient(5000)}) }).then(async (r) => process.stdout.write(r.status + '\\n' + await r.text()), (e) => process.stdout.write('0\\n' + e))`], { timeoutMs: patient(15_000) + 5000 });
  const [status, ...rest] = r.stdout.split('\n');
  const text = rest.join('\n');
  let body: Answer['body'] = {};
  if (p !== '/metrics') {
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      // not JSON (no answer): status 0 says so
    }
  }
  return { status: Number(status), text, body };
}

/** `promtool check metrics` on a scrape: fails the test with promtool's complaints. */
function promtoolCheck(t: ExecutionContext, text: string, what: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool: ${r.error.message} (scripts/setup.sh installs it from Debian's prometheus package)`);
  t.is(r.status, 0, `${what}: promtool check metrics: ${r.stdout}${r.stderr}`);
}

/** One sample of a metric with exactly these labels (`name{a="x"}`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}


privileged.serial('probes from the start: /livez answers while the datastore cannot be read, /startupz and /readyz wait for the first sync; a datastore away keeps the node ready and reports stale', async (t) => {
  const lab = Lab.create();
  t.teardown(() => lab.destroy());
  const a = lab.node('node-a');
  const etcd = await TestEtcd.create({ netns: a.ns, host: a.address });
  t.teardown(() => etcd.destroy());
  etcd.ops(etcdOpsFor([poolManifest({ ipipMode: 'Always' }, lab.topology), ...Object.values(clusterManifests(lab.topology))]));
  await etcd.stop();

  const port = 9472;
  const starting = startAgent(lab, 'node-a', { listen: `127.0.0.1:${port}`, readyTimeoutMs: patient(180_000), extraArgs: ['--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint] });
  starting.catch(() => undefined); // awaited below; a failure before then is reported there
  let live: Answer | undefined;
  await until('/livez answers while etcd is down', async () => (live = await get(a.ns, port, '/livez')).status === 200, patient(20_000), 100);
  t.is(live!.body.status, 'ok');
  await until('agentd reports the datastore it waits for', async () => typeof (await get(a.ns, port, '/startupz')).body.waiting === 'string', patient(20_000), 100);
  const startup = await get(a.ns, port, '/startupz');
  t.is(startup.status, 503, 'not started before the first sync');
  t.is(startup.body.phase, 'reading datastore');
  t.regex(String(startup.body.waiting), /etcdv3 datastore cannot be read/);
  const notReady = await get(a.ns, port, '/readyz');
  t.is(notReady.status, 503, 'not ready before the first sync');
  t.regex(notReady.body.reasons!.join(';'), /starting: reading datastore/);
  const early = await get(a.ns, port, '/metrics');
  t.is(early.status, 200, '/metrics answers before the datapath is loaded');
  promtoolCheck(t, early.text, 'before the first sync');
  t.is(sample(early.text, 'burrow_ready'), 0);

  await etcd.start();
  const agent = await starting;
  t.is((await get(a.ns, port, '/startupz')).status, 200, 'started after the first sync');
  await until('/readyz is 200', async () => (await get(a.ns, port, '/readyz')).status === 200);
  const ready = await get(a.ns, port, '/readyz');
  t.deepEqual(ready.body.datastore, { kind: 'etcdv3', connected: true });
  t.deepEqual((ready.body.links as Array<{ pin: string }>).length, 2, 'both programs attached');

  // etcd away: the datapath forwards with the last state, so the node stays ready and says stale.
  const mark = agent.records.length;
  await etcd.stop();
  await agent.waitFor((r) => r.msg === 'datastore away: the datapath keeps forwarding with the last known state', patient(30_000), mark);
  await sleep(1100);
  const stale = await get(a.ns, port, '/readyz');
  t.is(stale.status, 200, `ready while the datastore is away: ${stale.text}`);
  const ds = stale.body.datastore as { connected: boolean; staleSince?: string; staleSeconds?: number };
  t.false(ds.connected);
  t.truthy(ds.staleSince);
  t.is((await get(a.ns, port, '/livez')).status, 200);
  const metrics = await get(a.ns, port, '/metrics');
  t.is(sample(metrics.text, 'burrow_datastore_connected{datastore="etcdv3"}'), 0);
  t.true(sample(metrics.text, 'burrow_datastore_stale_seconds{datastore="etcdv3"}')! >= 1, 'stale for a second at least');
  t.is(sample(metrics.text, 'burrow_ready'), 1);
  promtoolCheck(t, metrics.text, 'datastore away');
});


privileged.serial('metrics: a live scrape passes promtool and traffic moves the datapath counters; an invalid manifest edit keeps the node live and ready, reporting the invalid config', async (t) => {
  const port = 9473;
  const { lab, agents } = await labWithAgents(t, { agents: ['node-a', 'node-c'], agent: { listen: `127.0.0.1:${port}` } });
  const a = lab.node('node-a');
  const scrape = async () => {
    const m = await get(a.ns, port, '/metrics');
    t.is(m.status, 200);
    return m.text;
  };
  const before = await scrape();
  promtoolCheck(t, before, 'after start');
  for (const name of ['burrow_build_info', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'burrow_reconcile_duration_seconds_bucket', 'burrow_source_events_apply_duration_seconds_bucket', 'burrow_resyncs_total']) {
    t.true(before.includes(`\n${name}`), `${name} is exposed`);
  }
  t.regex(before, /^burrow_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+[^"]*"\} 1$/m);
  t.is(sample(before, 'burrow_map_max_entries{map="routes"}')! > 0, true);
  t.true(sample(before, 'burrow_map_entries{map="routes"}')! >= 3, 'the lab\'s three blocks and pool at least');
  t.is(sample(before, 'burrow_map_entries{map="peers"}'), 2, 'node-b and node-c');
  t.is(sample(before, 'burrow_config_valid'), 1);
  t.is(sample(before, 'burrow_datastore_connected{datastore="file"}'), 1);

  const counter = (text: string, c: string) => sample(text, `burrow_datapath_packets_total{counter="${c}"}`) ?? 0;
  const drops = (text: string, reason: string) => sample(text, `burrow_datapath_drops_total{reason="${reason}"}`);
  t.is(drops(before, 'spoofed'), counter(before, 'drop_spoofed'), 'drops_total{reason} is the drop_* counter');
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 5, interval: 0.05 })).received, 5);
  const b = lab.node('node-b');
  // IPIP from node-b (a peer) to node-a with an inner source in no pool: node-a's decap drops it (drop_spoofed).
  sendCrafted(b.ns, { mode: 'ipip', outerSrc: b.address, outerDst: a.address, innerSrc: '1.2.3.4', innerDst: lab.pod('node-a').address, count: 4 });
  // The counters are read at most every 500 ms: scrape until the four drops show (or more: asserted below).
  let after = '';
  await until('the spoofed drops in a scrape', async () => (drops(after = await scrape(), 'spoofed') ?? 0) - drops(before, 'spoofed')! >= 4, patient(15_000), 100);
  promtoolCheck(t, after, 'after traffic');
  t.true(counter(after, 'encap_ipip') - counter(before, 'encap_ipip') >= 5, 'five echo requests encapsulated on node-a');
  t.true(counter(after, 'decap_ipip') - counter(before, 'decap_ipip') >= 5, 'five echo replies decapsulated on node-a');
  t.is(drops(after, 'spoofed')! - drops(before, 'spoofed')!, 4, 'four spoofed packets dropped, by reason');
  t.is(counter(after, 'drop_spoofed') - counter(before, 'drop_spoofed'), 4);
  t.true(sample(after, 'burrow_datapath_drop_bytes_total{reason="spoofed"}')! > 0);

  // An invalid edit: live, ready (the last good state forwards), config invalid; /healthz keeps its older 503.
  const agent = agents['node-a']!;
  const mark = agent.records.length;
  const broken = path.join(a.manifestsDir, 'zz-broken.yaml');
  fs.writeFileSync(broken, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: broken\nspec:\n  cidr: 10.300.0.0/16\n');
  await agent.waitFor((r) => typeof r.msg === 'string' && r.msg.includes('keeping the current state'), patient(10_000), mark);
  const live = await get(a.ns, port, '/livez');
  t.is(live.status, 200, `live with an invalid config: ${live.text}`);
  const ready = await get(a.ns, port, '/readyz');
  t.is(ready.status, 200, `ready with an invalid config: ${ready.text}`);
  const config = ready.body.config as { valid: boolean; keeping: string; invalid: Array<{ file: string }> };
  t.false(config.valid);
  t.regex(config.keeping, /^the last good state/);
  t.true(config.invalid.some((d) => d.file.endsWith('zz-broken.yaml')), 'names the file');
  t.is((await get(a.ns, port, '/healthz')).status, 503, '/healthz keeps its older meaning');
  const invalid = await scrape();
  t.is(sample(invalid, 'burrow_config_valid'), 0);
  t.true(sample(invalid, 'burrow_config_errors')! >= 1);
  t.true(sample(invalid, 'burrow_reconciles_total{outcome="invalid"}')! >= 1);
  t.is(sample(invalid, 'burrow_ready'), 1);
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 })).received, 3, 'the datapath forwards with the last good state');

  const fixed = agent.records.length;
  fs.rmSync(broken);
  await agent.waitFor((r) => r.msg === 'reconciled', patient(10_000), fixed);
  t.deepEqual((await get(a.ns, port, '/readyz')).body.config, { valid: true });
  t.is(sample(await scrape(), 'burrow_config_valid'), 1);
  t.is((await get(a.ns, port, '/healthz')).status, 200);
});
