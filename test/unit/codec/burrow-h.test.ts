// The codec's vocabulary against bpf/include/burrow.h, the one definition: counter order,
// enum values and defaults are read from the header itself, so a change there fails here.
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  BURROW_CONFIG_FLAG, BURROW_DEFAULT_TTL, BURROW_DEFAULT_VNI, BURROW_DEFAULT_VXLAN_PORT, BURROW_IPIP_OVERHEAD, BURROW_MODE, BURROW_PEER,
  BURROW_ROUTE_FLAG, BURROW_SPORT_MAX, BURROW_SPORT_MIN, BURROW_VXLAN_OVERHEAD, STAT_COUNT, STAT_NAMES, statIndex,
} from '../../../src/codec/index.js';

const header = readFileSync(new URL('../../../../bpf/include/burrow.h', import.meta.url), 'utf8');

function enumBody(name: string): string {
  const m = new RegExp(`enum ${name} \\{([\\s\\S]*?)\\};`).exec(header);
  if (!m?.[1]) throw new Error(`enum ${name} not found in burrow.h`);
  return m[1].replace(/\/\*[\s\S]*?\*\//g, '');
}

function define(name: string): number {
  const m = new RegExp(`#define ${name}\\s+(\\d+)`).exec(header);
  if (!m?.[1]) throw new Error(`#define ${name} not found in burrow.h`);
  return Number(m[1]);
}

test('STAT_NAMES is enum burrow_stat in order, without the prefix', (t) => {
  const names = [...enumBody('burrow_stat').matchAll(/BURROW_STAT_(\w+)/g)].map((m) => m[1]).filter((n) => n !== '_MAX');
  t.deepEqual([...STAT_NAMES], names);
  t.is(STAT_COUNT, 26);
  t.is(statIndex('ENCAP_IPIP'), 0);
  t.is(statIndex('DROP_ALREADY_ENCAP'), 16);
  t.is(statIndex('DROP_SPOOFED'), 17);
  t.is(statIndex('DROP_OUTSIDE_POOL'), 18);
  t.is(statIndex('PASS_TUNNEL_ENDPOINT'), 19);
  t.is(statIndex('MSS_CLAMPED'), 20);
  t.is(statIndex('MSS_MALFORMED'), 21);
  t.is(statIndex('PMTU_LEARNED'), 22);
  t.is(statIndex('PASS_PMTU'), 25);
});

test('modes, peer bits and route flags have burrow.h values', (t) => {
  const mode = enumBody('burrow_mode');
  t.regex(mode, new RegExp(`BURROW_MODE_NONE\\s*=\\s*${BURROW_MODE.none}\\b`));
  t.regex(mode, new RegExp(`BURROW_MODE_IPIP\\s*=\\s*${BURROW_MODE.ipip}\\b`));
  t.regex(mode, new RegExp(`BURROW_MODE_VXLAN\\s*=\\s*${BURROW_MODE.vxlan}\\b`));
  const peer = enumBody('burrow_peer_mode');
  t.regex(peer, /BURROW_PEER_IPIP\s*=\s*1 << 0/);
  t.regex(peer, /BURROW_PEER_VXLAN\s*=\s*1 << 1/);
  t.deepEqual(BURROW_PEER, { ipip: 1, vxlan: 2 });
  const flags = enumBody('burrow_route_flag');
  for (const [name, bit] of Object.entries(BURROW_ROUTE_FLAG)) {
    t.regex(flags, new RegExp(`BURROW_ROUTE_${name}\\s*=\\s*1 << ${Math.log2(bit)}\\b`), name);
  }
  const config = enumBody('burrow_config_flag');
  t.regex(config, new RegExp(`BURROW_CFG_NONE\\s*=\\s*${BURROW_CONFIG_FLAG.NONE}\\b`));
  t.regex(config, new RegExp(`BURROW_CFG_DECAP_SRC_POOL\\s*=\\s*1 << ${Math.log2(BURROW_CONFIG_FLAG.DECAP_SRC_POOL)}\\b`));
  t.deepEqual(Object.keys(BURROW_CONFIG_FLAG), ['NONE', 'DECAP_SRC_POOL', 'UPLINK_FIB']);
  t.regex(config, new RegExp(`BURROW_CFG_UPLINK_FIB\\s*=\\s*1 << ${Math.log2(BURROW_CONFIG_FLAG.UPLINK_FIB)}\\b`));
});

test('defaults, overheads and the source port range match the #defines', (t) => {
  t.is(BURROW_DEFAULT_VXLAN_PORT, define('BURROW_DEFAULT_VXLAN_PORT'));
  t.is(BURROW_DEFAULT_VNI, define('BURROW_DEFAULT_VNI'));
  t.is(BURROW_DEFAULT_TTL, define('BURROW_DEFAULT_TTL'));
  t.is(BURROW_IPIP_OVERHEAD, define('BURROW_IPIP_OVERHEAD'));
  t.is(BURROW_VXLAN_OVERHEAD, define('BURROW_VXLAN_OVERHEAD'));
  t.is(BURROW_SPORT_MIN, define('BURROW_SPORT_MIN'));
  t.is(BURROW_SPORT_MAX, define('BURROW_SPORT_MAX'));
});
