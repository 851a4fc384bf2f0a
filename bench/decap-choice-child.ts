/**
 * What `--decap-hook auto` chooses on a lab node's uplink: run by bench/lab-throughput.ts inside
 * the node's network namespace (`ip netns exec`), where agentd would run. Prints one JSON line:
 * { ipip: { hook, reason }, vxlan: { hook, reason }, groHop: { on, reason }, offloads } (the choice
 * with only IPIP pools, and with a VXLAN pool; `--vxlan-gro auto`'s choice).
 *
 *   node dist/bench/decap-choice-child.js <uplink> <node address>
 */
import { chooseDecapHook, chooseGroHop, findUplink } from '../src/agent/uplink.js';

const [name, address] = process.argv.slice(2);
if (!name || !address) {
  process.stderr.write('usage: decap-choice-child.js <uplink> <node address>\n');
  process.exit(2);
}
const uplink = await findUplink(name, address);
const groHop = chooseGroHop('auto', [uplink]);
const ipip = chooseDecapHook('auto', uplink, { vxlan: false, groHop: groHop.on });
const vxlan = chooseDecapHook('auto', uplink, { vxlan: true, groHop: groHop.on });
process.stdout.write(`${JSON.stringify({ ipip, vxlan, groHop, offloads: uplink.offloads ?? null })}\n`);
