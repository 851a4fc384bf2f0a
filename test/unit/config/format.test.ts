// The one formatter: one line per diagnostic, file, document, resource, path, message.
import test from 'ava';
import { formatDiagnostic, formatDiagnostics, parseManifests, type ConfigDiagnostic } from '../../../src/config/index.js';
import { pool, yamlDocs } from './_fixtures.js';

test('an enum error prints as file: document N (Kind name): path: message', (t) => {
  const r = parseManifests([
    { file: 'manifests/pools.yaml', text: yamlDocs(pool('ippool-0', '10.1.0.0/16'), pool('ippool-1', '10.2.0.0/16', { ipipMode: 'Sometimes' })) },
  ]);
  t.false(r.ok);
  if (r.ok) return;
  t.is(
    formatDiagnostics(r.errors),
    "manifests/pools.yaml: document 2 (IPPool ippool-1): spec.ipipMode: Invalid enum value 'Sometimes'; expected Always | CrossSubnet | Never",
  );
});

const base: ConfigDiagnostic = { severity: 'error', file: 'f.yaml', document: 3, kind: 'Node', name: 'n1', path: 'spec.bgp', rule: 'r', message: 'm' };

const table: [string, ConfigDiagnostic, string][] = [
  ['everything', base, 'f.yaml: document 3 (Node n1): spec.bgp: m'],
  ['no path', { ...base, path: '' }, 'f.yaml: document 3 (Node n1): m'],
  ['no name', { ...base, name: '' }, 'f.yaml: document 3 (Node): spec.bgp: m'],
  ['no resource', { ...base, kind: '', name: '' }, 'f.yaml: document 3: spec.bgp: m'],
  ['a file-level error', { ...base, document: 0, kind: '', name: '', path: '' }, 'f.yaml: m'],
  ['compile-time (no file)', { ...base, file: '', document: 0 }, 'Node n1: spec.bgp: m'],
  ['a warning', { ...base, severity: 'warning' }, 'f.yaml: document 3 (Node n1): spec.bgp: warning: m'],
];

for (const [title, d, line] of table) {
  test(`formats ${title}`, (t) => t.is(formatDiagnostic(d), line));
}

test('several diagnostics: one line each', (t) => {
  t.is(formatDiagnostics([base, { ...base, message: 'x' }]).split('\n').length, 2);
});
