// Documents → typed raw resources: dispatch on kind and apiVersion, expand Lists, run the raw
// schema. Real Calico kinds burrow has no use for, and Konvoy kinds other than
// ClusterConfiguration, are skipped with a warning; anything else unknown is an error.
import { z } from 'zod';
import { diagnosticAt, excerpt, suggest, type ConfigDiagnostic, type SourceLocation } from './diagnostics.js';
import type { RawDocument } from './documents.js';
import {
  NAME_RE,
  CALICO_API_VERSION,
  CALICO_CRD_API_VERSION,
  IGNORED_CALICO_KINDS,
  ListSchema,
  RESOURCE_KINDS,
  RESOURCE_KIND_NAMES,
  type RawBlockAffinity,
  type RawFelixConfiguration,
  type RawIPPool,
  type RawKonvoyClusterConfiguration,
  type RawNode,
  type ResourceKind,
} from './schema.js';
import { describeValue, zodIssuesToDiagnostics } from './zod-issues.js';
import { isMulticastMac, parseMac } from './mac.js';
import { parseIPv4 } from './net.js';

interface Located<K extends ResourceKind, R> {
  readonly kind: K;
  readonly name: string;
  readonly loc: SourceLocation;
  readonly raw: R;
}

export type Resource =
  | Located<'IPPool', RawIPPool>
  | Located<'Node', RawNode>
  | Located<'BlockAffinity', RawBlockAffinity>
  | Located<'FelixConfiguration', RawFelixConfiguration>
  | Located<'ClusterConfiguration', RawKonvoyClusterConfiguration>;

/** Where classification puts what it finds: arrays (Classified), or a sink that consumes resources as they come. */
export interface ClassifyOut {
  readonly resources: { push(r: Resource): unknown };
  readonly diagnostics: ConfigDiagnostic[];
  readonly rejected: { kind: ResourceKind; name: string }[];
}

export interface Classified extends ClassifyOut {
  readonly resources: Resource[];
  readonly diagnostics: ConfigDiagnostic[];
  /** Resources of a known kind that failed their schema: later checks must not cascade from their absence. */
  readonly rejected: { kind: ResourceKind; name: string }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const KIND_HINT = `expected one of ${RESOURCE_KIND_NAMES.join(', ')}, List or <Kind>List`;

function nameOf(value: Record<string, unknown>): string {
  const meta = value['metadata'];
  return isRecord(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
}

/** The kind a List kind holds: 'IPPoolList' → 'IPPool', 'List' → '' (any); undefined: not a List. */
function listItemKind(kind: string): string | undefined {
  if (kind === 'List') return '';
  if (!kind.endsWith('List')) return undefined;
  const base = kind.slice(0, -'List'.length);
  return (RESOURCE_KIND_NAMES as string[]).includes(base) || (IGNORED_CALICO_KINDS as readonly string[]).includes(base)
    ? base
    : undefined;
}

export function classifyDocuments(documents: readonly RawDocument[]): Classified {
  const out: Classified = { resources: [], diagnostics: [], rejected: [] };
  for (const doc of documents) classifyValue(doc.value, doc.loc, out, undefined);
  return out;
}

/** classifyDocuments into `out`, whose resources sink may consume each resource as it is made (a List's items one by one). */
export function classifyDocumentsInto(documents: Iterable<RawDocument>, out: ClassifyOut): void {
  for (const doc of documents) classifyValue(doc.value, doc.loc, out, undefined);
}

interface ListContext {
  readonly itemKind: string; // '' for a generic List
  readonly apiVersion: string | undefined;
}

function classifyValue(value: unknown, loc: SourceLocation, out: ClassifyOut, list: ListContext | undefined): void {
  const error = (path: (string | number)[], rule: string, message: string, kind = '', name = '') =>
    out.diagnostics.push(diagnosticAt(loc, { kind, name }, path, rule, message));

  if (!isRecord(value)) {
    error([], 'not-a-resource', `expected a resource (a mapping with apiVersion, kind, metadata), got ${describeValue(value)}`);
    return;
  }
  let resource = value;
  if (list?.itemKind && resource['kind'] === undefined) {
    // Typed lists (kubectl output) may leave kind and apiVersion to the list.
    resource = { ...resource, kind: list.itemKind, apiVersion: resource['apiVersion'] ?? list.apiVersion };
  }
  const kind = resource['kind'];
  const name = nameOf(resource);
  if (typeof kind !== 'string' || kind === '') {
    error(['kind'], 'required', `kind is missing; ${KIND_HINT}`, '', name);
    return;
  }
  if (list?.itemKind && kind !== list.itemKind) {
    error(['kind'], 'list-item-kind', `a ${list.itemKind}List may only hold ${list.itemKind} items, got ${excerpt(kind)}`, kind, name);
    return;
  }

  const itemKind = listItemKind(kind);
  if (itemKind !== undefined) {
    if (list) {
      error(['kind'], 'nested-list', `a ${kind} cannot be an item of another list`, kind, name);
      return;
    }
    classifyList(resource, kind, itemKind, loc, out);
    return;
  }

  if ((RESOURCE_KIND_NAMES as string[]).includes(kind)) parseResource(resource, kind as ResourceKind, name, loc, out);
  else skipOrRejectUnknownKind(resource, kind, name, loc, out);
}

/** Real Calico kinds burrow has no use for and any Konvoy kind are skipped with a warning; the rest is an error. */
function skipOrRejectUnknownKind(resource: Record<string, unknown>, kind: string, name: string, loc: SourceLocation, out: ClassifyOut): void {
  const apiVersion = resource['apiVersion'];
  const group = typeof apiVersion === 'string' ? apiVersion.split('/')[0] : '';
  const calicoGroup = group === 'projectcalico.org' || group === 'crd.projectcalico.org';
  if ((calicoGroup && (IGNORED_CALICO_KINDS as readonly string[]).includes(kind)) || group === 'konvoy.mesosphere.io') {
    out.diagnostics.push(diagnosticAt(loc, { kind, name }, [], 'ignored-kind', `${kind} has no effect on burrow's tunnels; skipped`, 'warning'));
    return;
  }
  const guess = kind.length <= 100 ? suggest(kind, RESOURCE_KIND_NAMES) : undefined;
  out.diagnostics.push(
    diagnosticAt(loc, { kind, name }, ['kind'], 'unknown-kind', `unknown kind '${excerpt(kind)}'${guess ? `; did you mean '${guess}'?` : `; ${KIND_HINT}`}`),
  );
}

/** A known kind: check its apiVersion, then its raw schema. */
function parseResource(resource: Record<string, unknown>, kind: ResourceKind, name: string, loc: SourceLocation, out: ClassifyOut): void {
  const spec = RESOURCE_KINDS[kind];
  const accepted = spec.apiVersions as readonly string[];
  const apiVersion = resource['apiVersion'];
  const reject = (path: string[], rule: string, message: string) => {
    out.rejected.push({ kind, name });
    if (rule) out.diagnostics.push(diagnosticAt(loc, { kind, name }, path, rule, message));
  };
  if (typeof apiVersion !== 'string') {
    reject(['apiVersion'], 'required', `apiVersion is missing; a ${kind} needs apiVersion: ${accepted[0]}`);
    return;
  }
  if (!accepted.includes(apiVersion)) {
    reject(['apiVersion'], 'api-version', `apiVersion '${excerpt(apiVersion)}' is not supported for ${kind}; expected ${accepted.join(' or ')}`);
    return;
  }
  if (kind === 'BlockAffinity') {
    const raw = fastBlockAffinity(resource);
    if (raw) {
      out.resources.push({ kind, name, loc, raw });
      return;
    }
  }
  if (kind === 'Node') {
    const raw = fastNode(resource);
    if (raw) {
      out.resources.push({ kind, name, loc, raw });
      return;
    }
  }
  const schema: z.ZodType = spec.schema;
  const parsed = schema.safeParse(resource);
  if (!parsed.success) {
    reject([], '', '');
    out.diagnostics.push(...zodIssuesToDiagnostics(parsed.error.issues, schema, resource, loc, { kind, name }));
    return;
  }
  out.resources.push({ kind, name, loc, raw: parsed.data } as Resource);
}

function classifyList(
  value: Record<string, unknown>,
  kind: string,
  itemKind: string,
  loc: SourceLocation,
  out: ClassifyOut,
): void {
  const parsed = ListSchema.safeParse(value);
  if (!parsed.success) {
    out.diagnostics.push(...zodIssuesToDiagnostics(parsed.error.issues, ListSchema, value, loc, { kind, name: '' }));
    return;
  }
  const apiVersion = parsed.data.apiVersion;
  if (itemKind === '' && apiVersion !== undefined && apiVersion !== 'v1') {
    out.diagnostics.push(diagnosticAt(loc, { kind, name: '' }, ['apiVersion'], 'api-version', `apiVersion '${excerpt(apiVersion)}' is not supported for List; expected v1`));
    return;
  }
  if (itemKind !== '' && apiVersion !== undefined) {
    const known = (RESOURCE_KINDS as Record<string, { apiVersions: readonly string[] }>)[itemKind];
    const accepted = known ? known.apiVersions : [CALICO_API_VERSION, CALICO_CRD_API_VERSION];
    if (!accepted.includes(apiVersion)) {
      out.diagnostics.push(
        diagnosticAt(loc, { kind, name: '' }, ['apiVersion'], 'api-version', `apiVersion '${excerpt(apiVersion)}' is not supported for ${kind}; expected ${accepted.join(' or ')}`),
      );
      return;
    }
  }
  (parsed.data.items ?? []).forEach((item, i) => {
    classifyValue(item, { ...loc, prefix: [...loc.prefix, 'items', i] }, out, { itemKind, apiVersion });
  });
}

// ── BlockAffinity fast path ──────────────────────────────────────────────────────────────────
// A cluster has 100k of them and they all look alike. One whose every field is of the plain,
// valid shape is accepted here without zod (what zod would return: the same fields and values);
// anything else — an unknown field, a wrong type, a name zod would refuse — goes through the
// schema for its diagnostics. test/unit/config/fast-block.test.ts holds the two equal.

const FAST_META_STRINGS = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']);
const BLOCK_STATES = new Set(['confirmed', 'pending', 'pendingDeletion']);

export function fastBlockAffinity(resource: Record<string, unknown>): RawBlockAffinity | undefined {
  const spec = fastEnvelope(resource);
  if (!spec) return undefined;
  for (const key in spec) {
    const v = spec[key];
    switch (key) {
      case 'node': if (typeof v !== 'string' || v.length === 0) return undefined; break;
      case 'cidr': if (typeof v !== 'string') return undefined; break;
      case 'state': if (typeof v !== 'string' || !BLOCK_STATES.has(v)) return undefined; break;
      case 'deleted': if (v !== true && v !== false && v !== 'true' && v !== 'false') return undefined; break;
      case 'type': if (v !== 'host' && v !== 'virtual') return undefined; break;
      default: return undefined;
    }
  }
  if (spec['node'] === undefined || spec['cidr'] === undefined) return undefined;
  // Exactly the fields the schema would keep, with the same values: the document itself is the
  // schema's output (no copy of 100k documents).
  return resource as unknown as RawBlockAffinity;
}

// ── the fast paths' shared checks ──────────────────────────────────────────────────────────────

/** A record zod copies as it is (it would set a `__proto__` key's value as the copy's prototype). */
const isPlainRecord = (v: unknown): v is Record<string, unknown> => isRecord(v) && !Object.hasOwn(v, '__proto__');
const isStringRecord = (v: unknown): boolean => {
  if (!isPlainRecord(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
};
const isOptString = (v: unknown): boolean => v === undefined || typeof v === 'string';
const isIpv4Text = (v: unknown): boolean => typeof v === 'string' && parseIPv4(v) !== undefined;

/**
 * The envelope and metadata of a fast-path resource (the schema's resourceEnvelope and
 * ObjectMeta, in their plain shapes): its spec, or undefined (the schema decides).
 */
function fastEnvelope(resource: Record<string, unknown>): Record<string, unknown> | undefined {
  let spec: Record<string, unknown> | undefined;
  let meta: Record<string, unknown> | undefined;
  for (const key in resource) {
    const v = resource[key];
    if (key === 'spec') { if (!isRecord(v)) return undefined; spec = v; }
    else if (key === 'metadata') { if (!isRecord(v)) return undefined; meta = v; }
    else if (key === 'status') { if (!isPlainRecord(v)) return undefined; }
    else if (key !== 'apiVersion' && key !== 'kind') return undefined;
  }
  if (!spec || !meta || typeof resource['apiVersion'] !== 'string' || typeof resource['kind'] !== 'string') return undefined;
  for (const key in meta) {
    const v = meta[key];
    if (FAST_META_STRINGS.has(key)) { if (typeof v !== 'string') return undefined; }
    else if (key === 'labels' || key === 'annotations') { if (!isStringRecord(v)) return undefined; }
    else return undefined;
  }
  const name = meta['name'] as string | undefined;
  if (name === undefined || name.length === 0 || name.length > 253 || !NAME_RE.test(name)) return undefined;
  return spec;
}

// ── Node fast path ───────────────────────────────────────────────────────────────────────────
// 5,000 Nodes at a cold start took ~0.4 s through zod. The same idea as the BlockAffinity fast
// path: every field of a plain shape calico-node writes (bgp, the tunnel addresses, orchRefs,
// addresses, wireguard) is checked here as the schema would; anything else goes to the schema.
// test/unit/config/fast-block.test.ts holds the two equal.

function fastBgp(v: unknown): boolean {
  if (!isRecord(v)) return false;
  for (const key in v) {
    const f = v[key];
    switch (key) {
      case 'ipv4Address': case 'ipv6Address': case 'routeReflectorClusterID': if (typeof f !== 'string') return false; break;
      case 'ipv4IPIPTunnelAddr': if (!isIpv4Text(f)) return false; break;
      case 'asNumber': if (typeof f !== 'string' && !Number.isSafeInteger(f)) return false; break;
      default: return false;
    }
  }
  return typeof v['ipv4Address'] === 'string';
}

const everyRecord = (v: unknown, ok: (r: Record<string, unknown>) => boolean): boolean => Array.isArray(v) && v.every((r) => isRecord(r) && ok(r));
const onlyKeys = (r: Record<string, unknown>, keys: readonly string[]): boolean => {
  for (const k in r) if (!keys.includes(k)) return false;
  return true;
};

export function fastNode(resource: Record<string, unknown>): RawNode | undefined {
  const spec = fastEnvelope(resource);
  if (!spec) return undefined;
  for (const key in spec) {
    const v = spec[key];
    switch (key) {
      case 'bgp': if (!fastBgp(v)) return undefined; break;
      case 'ipv4VXLANTunnelAddr': if (!isIpv4Text(v)) return undefined; break;
      case 'vxlanTunnelMACAddr': {
        const mac = typeof v === 'string' ? parseMac(v) : undefined;
        if (!mac || isMulticastMac(mac)) return undefined;
        break;
      }
      case 'ipv6VXLANTunnelAddr': case 'vxlanTunnelMACAddrV6': if (typeof v !== 'string') return undefined; break;
      case 'orchRefs':
        if (!everyRecord(v, (r) => onlyKeys(r, ['nodeName', 'orchestrator']) && typeof r['orchestrator'] === 'string' && isOptString(r['nodeName']))) return undefined;
        break;
      case 'addresses':
        if (!everyRecord(v, (r) => onlyKeys(r, ['address', 'type']) && typeof r['address'] === 'string' && isOptString(r['type']))) return undefined;
        break;
      case 'wireguard':
        if (!isRecord(v) || !onlyKeys(v, ['interfaceIPv4Address', 'interfaceIPv6Address']) || !isOptString(v['interfaceIPv4Address']) || !isOptString(v['interfaceIPv6Address'])) return undefined;
        break;
      default: return undefined;
    }
  }
  if (spec['bgp'] === undefined) return undefined;
  return resource as unknown as RawNode;
}
