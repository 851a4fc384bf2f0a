// agentd --debounce (docs/agentd.md): a burst of manifest writes is applied once, after the
// writes stop, with the last content. Five writes of the pool (natOutgoing toggled, no tunnel-mode
// change, so no phased switch adds reconciles) 100 ms apart under --debounce 4000 → exactly one
// reconcile, and it applies the last write; with the lab's usual 200 ms it would be five.
import { labManifests, poolManifest, writeLabManifests } from '../../src/lab/manifests.js';
import { sh, sleep } from '../../src/lab/sh.js';
import { labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const DEBOUNCE_MS = 4000;

privileged.serial(`--debounce ${DEBOUNCE_MS}: five pool edits 100 ms apart are applied in one reconcile, with the last edit`, async (t) => {
  const { lab, agents } = await labWithAgents(t, { agents: ['node-a'], agent: { debounceMs: DEBOUNCE_MS }, pool: { ipipMode: 'Always', natOutgoing: false } });
  const a = agents['node-a']!;
  const nat = (): string => sh(['ip', 'netns', 'exec', lab.node('node-a').ns, 'nft', 'list', 'ruleset']);
  t.notRegex(nat(), /masquerade/, 'natOutgoing false: no masquerade rule yet');
  const from = a.records.length;
  for (const natOutgoing of [true, false, true, false, true]) {
    writeLabManifests(lab, labManifests(lab, { 'pool.yaml': poolManifest({ ipipMode: 'Always', natOutgoing }) }));
    await sleep(100);
  }
  const applied = await a.waitFor((r) => r.msg === 'reconciled', 30_000, from);
  // Whatever a second reconcile of the burst would be, it would come within one more debounce.
  await sleep(2 * DEBOUNCE_MS);
  const burst = a.records.slice(from).filter((r) => r.msg === 'reconciled');
  t.log(`reconciles after the burst: ${burst.map((r) => `${String(r.reason)} (${String(r.changes)} changes)`).join(', ')}`);
  t.is(burst.length, 1, 'one reconcile for the whole burst');
  t.true((applied.changes as number) > 0, 'it changed something');
  t.regex(nat(), /masquerade/, 'the last edit (natOutgoing true) is what was applied');
});
