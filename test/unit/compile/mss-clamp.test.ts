// The MSS clamp's switch and values (docs/datapath.md "MSS clamping"): FelixConfiguration
// tunnelMSSClampEnabled (burrow's field, default true) reaches the `config` map as mss_ipip /
// mss_vxlan = the tunnel MTU of each mode − 40, following the uplink MTU and the Felix MTUs;
// false writes 0 (off); a value that is not a boolean is refused with the usual diagnostic.
import test from 'ava';

import { configValueOf, mssFor } from '../../../src/agent/map-entries.js';
import { compileDesiredState } from '../../../src/compile/index.js';
import { errorsOf, felix, lab, modelOf } from '../config/_fixtures.js';

const mss = (sources: Parameters<typeof modelOf>[0], uplinkMtu?: number) => {
  const { mss_ipip, mss_vxlan } = configValueOf(compileDesiredState(modelOf(sources), 'node-a', uplinkMtu ? { uplinkMtu } : {}).node);
  return { mss_ipip, mss_vxlan };
};

test('on by default: tunnel MTU − 40 per mode (1480/1450 at an uplink MTU of 1500)', (t) => {
  t.deepEqual(mss(lab()), { mss_ipip: 1440, mss_vxlan: 1410 });
});

test('follows the uplink MTU and the Felix tunnel MTUs', (t) => {
  t.deepEqual(mss(lab(), 9000), { mss_ipip: 8940, mss_vxlan: 8910 });
  t.deepEqual(mss(lab({ files: { 'felix.yaml': [felix({ ipipMTU: 1400, vxlanMTU: 1300 })] } })), { mss_ipip: 1360, mss_vxlan: 1260 });
});

test('tunnelMSSClampEnabled: false turns it off (0 in both modes); true is the default', (t) => {
  t.deepEqual(mss(lab({ files: { 'felix.yaml': [felix({ tunnelMSSClampEnabled: false })] } })), { mss_ipip: 0, mss_vxlan: 0 });
  t.deepEqual(mss(lab({ files: { 'felix.yaml': [felix({ tunnelMSSClampEnabled: true })] } })), { mss_ipip: 1440, mss_vxlan: 1410 });
});

test('tunnelMSSClampEnabled must be a boolean: a clear error at its path', (t) => {
  const errors = errorsOf(lab({ files: { 'felix.yaml': [felix({ tunnelMSSClampEnabled: 'yes' })] } }));
  t.is(errors.length, 1, errors.map((e) => e.message).join('\n'));
  t.like(errors[0], { file: 'felix.yaml', document: 1, kind: 'FelixConfiguration', path: 'spec.tunnelMSSClampEnabled', severity: 'error' });
});

test('the clamp is never 0 (0 means off) and never above 65535', (t) => {
  t.is(mssFor(68), 28);
  t.is(mssFor(40), 1);
  t.is(mssFor(70000), 65535);
});
