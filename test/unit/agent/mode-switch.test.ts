// TunnelModeSwitch: a change of the modes peers may use goes accepting → grace → steady, with
// the datapath sending the old way while accepting, and accepting old ∪ new until steady.
import test from 'ava';

import type { DesiredState, TunnelEncap } from '../../../src/compile/index.js';
import { peerModesChanged, TunnelModeSwitch } from '../../../src/agent/mode-switch.js';

/** Just what the switch looks at: peers, and a route to tell states apart. */
function state(mode: TunnelEncap, extraPeer?: string): DesiredState {
  const peers = [{ address: '10.0.2.10', node: 'node-c', modes: [mode], vni: 4096 }];
  if (extraPeer) peers.push({ address: extraPeer, node: 'node-x', modes: [mode], vni: 4096 });
  return { routes: [{ cidr: '192.168.2.0/26', mode }], peers } as unknown as DesiredState;
}

const modesOf = (s: DesiredState) => s.peers.map((p) => `${p.address}:${p.modes.join('+')}`);
const routeMode = (s: DesiredState) => (s.routes[0] as { mode: string }).mode;

function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('no previous state, or no peer-mode change: the new state at once', (t) => {
  const c = clock();
  const sw = new TunnelModeSwitch<DesiredState>(1000, 5000, c.now);
  t.like(sw.decide(undefined, state('ipip')), { phase: 'steady', wakeInMs: undefined });
  const d = sw.decide(state('ipip'), state('ipip', '10.0.3.10'));
  t.is(d.phase, 'steady');
  t.deepEqual(modesOf(d.apply), ['10.0.2.10:ipip', '10.0.3.10:ipip']);
});

test('ipip → vxlan: accept both while sending ipip, then send vxlan accepting both, then vxlan only', (t) => {
  const c = clock();
  const sw = new TunnelModeSwitch<DesiredState>(1000, 5000, c.now);
  const [ipip, vxlan] = [state('ipip'), state('vxlan')];
  const cases: Array<[number, string, string, string[], number | undefined]> = [
    [0, 'accepting', 'ipip', ['10.0.2.10:ipip+vxlan'], 1000],
    [1000, 'grace', 'vxlan', ['10.0.2.10:ipip+vxlan'], 5000],
    [5000, 'steady', 'vxlan', ['10.0.2.10:vxlan'], undefined],
  ];
  let previous = ipip;
  for (const [advance, phase, sends, accepts, wake] of cases) {
    c.advance(advance);
    const d = sw.decide(previous, vxlan);
    previous = vxlan;
    t.is(d.phase as string, phase);
    t.is(routeMode(d.apply), sends, `${phase}: sends ${sends}`);
    t.deepEqual(modesOf(d.apply), accepts, `${phase}: accepts`);
    t.is(d.wakeInMs, wake);
  }
});

test('a second change while accepting keeps sending the original way and accepts every mode seen', (t) => {
  const c = clock();
  const sw = new TunnelModeSwitch<DesiredState>(1000, 5000, c.now);
  sw.decide(state('ipip'), state('vxlan'));
  c.advance(500);
  const d = sw.decide(state('vxlan'), state('ipip'));
  t.is(d.phase, 'accepting');
  t.is(routeMode(d.apply), 'ipip');
  t.deepEqual(modesOf(d.apply), ['10.0.2.10:ipip+vxlan']);
  t.is(d.wakeInMs, 1000, 'the accept period restarts');
});

test('both periods 0: switches at once', (t) => {
  const sw = new TunnelModeSwitch<DesiredState>(0, 0);
  t.like(sw.decide(state('ipip'), state('vxlan')), { phase: 'steady' });
});

test('peerModesChanged: only peers present in both count', (t) => {
  t.true(peerModesChanged(state('ipip'), state('vxlan')));
  t.false(peerModesChanged(state('ipip'), state('ipip', '10.0.9.9')));
});
