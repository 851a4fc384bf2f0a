// Raw schemas: exactly what a user may write, field by field (.strict(): an unknown or
// misspelt field is an error with its path, never silently ignored). They check shape, types,
// enums and single-field formats; rules that need several fields or several resources live in
// resolve.ts and cross-check.ts. Defaults are applied when resolving, not here, so a raw value
// still says what the user wrote.
import { z } from 'zod';
import { isMulticastMac, parseMac } from './mac.js';
import { excerpt } from './diagnostics.js';
import { parseIPv4 } from './net.js';

export const CALICO_API_VERSION = 'projectcalico.org/v3';
/** The same resources as stored by the Kubernetes datastore (kubectl get ippools.crd.projectcalico.org -o yaml). */
export const CALICO_CRD_API_VERSION = 'crd.projectcalico.org/v1';
export const KONVOY_API_VERSIONS = ['konvoy.mesosphere.io/v1beta2', 'konvoy.mesosphere.io/v1beta1'] as const;

export const ENCAP_MODES = ['Always', 'CrossSubnet', 'Never'] as const;

type Ctx = z.core.$RefinementCtx;
const fail = (ctx: Ctx, rule: string, message: string): void => {
  ctx.addIssue({ code: 'custom', message, params: { rule } });
};

/** An integer field with a range rule of its own (the path comes from where it is used). */
function intInRange(what: string, min: number, max: number, rule: string, allowZero = false) {
  return z.number().int().superRefine((v, ctx) => {
    if (allowZero && v === 0) return;
    if (v < min || v > max) {
      fail(ctx, rule, `${what} must be between ${min} and ${max}${allowZero ? ' (or 0: automatic)' : ''}, got ${v}`);
    }
  });
}

export const VNI_MAX = 0xffffff;
export const MTU_MIN = 68; // RFC 791: every IPv4 link carries 68-byte datagrams
export const MTU_MAX = 65535;

const ipv4Field = (what: string, rule: string) =>
  z.string().superRefine((v, ctx) => {
    if (parseIPv4(v) === undefined) fail(ctx, rule, `${what} '${excerpt(v)}' is not a valid IPv4 address`);
  });

const macField = z.string().superRefine((v, ctx) => {
  const mac = parseMac(v);
  if (!mac) fail(ctx, 'vtep-mac', `'${excerpt(v)}' is not a MAC address; expected six hex bytes like 66:0a:1b:2c:3d:4e`);
  else if (isMulticastMac(mac)) fail(ctx, 'vtep-mac', `'${v}' is a multicast MAC address; a VTEP MAC must be unicast (even first byte)`);
});

const NAME_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const NAME_RE = new RegExp(`^${NAME_LABEL}(\\.${NAME_LABEL})*$`);

/** Calico (and Kubernetes DNS-1123 subdomain) resource names. */
const resourceName = z.string().superRefine((v, ctx) => {
  if (v.length === 0) fail(ctx, 'name-format', 'name must not be empty');
  else if (v.length > 253) fail(ctx, 'name-format', `name is too long by ${v.length - 253} bytes`);
  else if (!NAME_RE.test(v)) {
    fail(ctx, 'name-format', `name must consist of lower case alphanumeric characters, '-' or '.' (regex: ${NAME_LABEL}(\\.${NAME_LABEL})*)`);
  }
});

/** Kubernetes ObjectMeta: the fields real exported manifests carry. */
export const ObjectMetaSchema = z.strictObject({
  name: resourceName,
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullable().optional(),
  deletionTimestamp: z.string().nullable().optional(),
  ownerReferences: z.array(z.record(z.string(), z.unknown())).optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.unknown()).optional(),
});

const resourceEnvelope = {
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
  status: z.record(z.string(), z.unknown()).optional(),
};

export const IPPoolSpecSchema = z.strictObject({
  cidr: z.string(),
  ipipMode: z.enum(ENCAP_MODES).optional(),
  vxlanMode: z.enum(ENCAP_MODES).optional(),
  natOutgoing: z.boolean().optional(),
  disabled: z.boolean().optional(),
  disableBGPExport: z.boolean().optional(),
  // The range depends on the pool's IP version: checked in resolve.ts.
  blockSize: z.number().int().optional(),
  nodeSelector: z.string().optional(),
  allowedUses: z.array(z.enum(['Workload', 'Tunnel', 'LoadBalancer'])).optional(),
  assignmentMode: z.enum(['Automatic', 'Manual']).optional(),
});

export const IPPoolSchema = z.strictObject({ ...resourceEnvelope, spec: IPPoolSpecSchema });

export const NodeSpecSchema = z.strictObject({
  bgp: z.strictObject({
    // Required by burrow: the tunnel endpoint and, through its prefix, the node's subnet.
    ipv4Address: z.string(),
    ipv6Address: z.string().optional(),
    ipv4IPIPTunnelAddr: ipv4Field('ipv4IPIPTunnelAddr', 'tunnel-address').optional(),
    asNumber: z.union([z.number().int(), z.string()]).optional(),
    routeReflectorClusterID: z.string().optional(),
  }),
  ipv4VXLANTunnelAddr: ipv4Field('ipv4VXLANTunnelAddr', 'tunnel-address').optional(),
  vxlanTunnelMACAddr: macField.optional(),
  ipv6VXLANTunnelAddr: z.string().optional(),
  vxlanTunnelMACAddrV6: z.string().optional(),
  orchRefs: z.array(z.strictObject({ nodeName: z.string().optional(), orchestrator: z.string() })).optional(),
  addresses: z.array(z.strictObject({ address: z.string(), type: z.string().optional() })).optional(),
  wireguard: z
    .strictObject({ interfaceIPv4Address: z.string().optional(), interfaceIPv6Address: z.string().optional() })
    .optional(),
});

export const NodeSchema = z.strictObject({ ...resourceEnvelope, spec: NodeSpecSchema });

/** Calico stores `deleted` as a string in the v3 API ("true"/"false"); accept a boolean too. */
const stringOrBool = z.custom<boolean | 'true' | 'false'>(
  (v) => typeof v === 'boolean' || v === 'true' || v === 'false',
  { message: "expected true or false (a boolean or the string 'true'/'false')", params: { rule: 'invalid-type' } },
);

export const BlockAffinitySpecSchema = z.strictObject({
  node: z.string().min(1),
  cidr: z.string(),
  state: z.enum(['confirmed', 'pending', 'pendingDeletion']).optional(),
  deleted: stringOrBool.optional(),
  type: z.enum(['host', 'virtual']).optional(),
});

export const BlockAffinitySchema = z.strictObject({ ...resourceEnvelope, spec: BlockAffinitySpecSchema });

/**
 * Felix settings that burrow accepts (they appear in `calicoctl get felixconfiguration -o yaml`)
 * but that have no meaning for it: each one present yields a warning, not an error.
 */
export const FELIX_IGNORED_FIELDS = [
  'bpfEnabled', 'bpfLogLevel', 'floatingIPs', 'healthEnabled', 'healthPort', 'logFilePath',
  'logSeverityFile', 'logSeverityScreen', 'logSeveritySys', 'prometheusMetricsEnabled',
  'reportingInterval', 'routeRefreshInterval', 'iptablesRefreshInterval', 'wireguardEnabled',
] as const;

export const FelixConfigurationSpecSchema = z.strictObject({
  vxlanVNI: intInRange('vxlanVNI', 1, VNI_MAX, 'vni-range'),
  vxlanPort: intInRange('vxlanPort', 1, 65535, 'port-range'),
  ipipMTU: intInRange('ipipMTU', MTU_MIN, MTU_MAX, 'mtu-range', true),
  vxlanMTU: intInRange('vxlanMTU', MTU_MIN, MTU_MAX, 'mtu-range', true),
  ipipEnabled: z.boolean(),
  vxlanEnabled: z.boolean(),
  /** burrow's: MSS clamping of SYNs entering the tunnel (docs/datapath.md "MSS clamping"); default true. */
  tunnelMSSClampEnabled: z.boolean(),
  ...Object.fromEntries(FELIX_IGNORED_FIELDS.map((f) => [f, z.unknown()])),
}).partial();

export const FelixConfigurationSchema = z.strictObject({
  ...resourceEnvelope,
  spec: FelixConfigurationSpecSchema.optional(),
});

/** Konvoy's calico block is ours to interpret: strict. */
export const KonvoyCalicoSchema = z.strictObject({
  version: z.string().optional(),
  encapsulation: z.enum(['ipip', 'vxlan']).optional(),
  mtu: intInRange('calico.mtu', MTU_MIN, MTU_MAX, 'mtu-range').optional(),
});

/**
 * Konvoy's ClusterConfiguration has many fields burrow does not read (addons, autoProvisioning,
 * imageRegistries, …): everything outside the calico block passes through.
 */
export const KonvoyClusterConfigurationSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string().optional() }).optional(),
  spec: z
    .looseObject({
      kubernetes: z
        .looseObject({
          containerNetworking: z.looseObject({ calico: KonvoyCalicoSchema.optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
});

export type RawIPPool = z.infer<typeof IPPoolSchema>;
export type RawNode = z.infer<typeof NodeSchema>;
export type RawBlockAffinity = z.infer<typeof BlockAffinitySchema>;
export type RawFelixConfiguration = z.infer<typeof FelixConfigurationSchema>;
export type RawKonvoyClusterConfiguration = z.infer<typeof KonvoyClusterConfigurationSchema>;

/** Per kind: the apiVersions accepted and the raw schema. */
export const RESOURCE_KINDS = {
  IPPool: { apiVersions: [CALICO_API_VERSION, CALICO_CRD_API_VERSION], schema: IPPoolSchema },
  Node: { apiVersions: [CALICO_API_VERSION], schema: NodeSchema },
  BlockAffinity: { apiVersions: [CALICO_API_VERSION, CALICO_CRD_API_VERSION], schema: BlockAffinitySchema },
  FelixConfiguration: { apiVersions: [CALICO_API_VERSION, CALICO_CRD_API_VERSION], schema: FelixConfigurationSchema },
  ClusterConfiguration: { apiVersions: [...KONVOY_API_VERSIONS], schema: KonvoyClusterConfigurationSchema },
} as const;

export type ResourceKind = keyof typeof RESOURCE_KINDS;
export const RESOURCE_KIND_NAMES = Object.keys(RESOURCE_KINDS) as ResourceKind[];

/** Real Calico kinds that carry nothing burrow uses: skipped with a warning instead of an error. */
export const IGNORED_CALICO_KINDS = [
  'BGPConfiguration', 'BGPPeer', 'BGPFilter', 'CalicoNodeStatus', 'ClusterInformation',
  'GlobalNetworkPolicy', 'GlobalNetworkSet', 'HostEndpoint', 'IPAMBlock', 'IPAMConfiguration',
  'IPAMHandle', 'IPReservation', 'KubeControllersConfiguration', 'NetworkPolicy', 'NetworkSet',
  'Profile', 'StagedGlobalNetworkPolicy', 'StagedKubernetesNetworkPolicy', 'StagedNetworkPolicy',
  'Tier', 'WorkloadEndpoint',
] as const;

/** A List envelope (`kind: List` or `kind: IPPoolList`); items are checked one by one. */
export const ListSchema = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.string(),
  metadata: z.strictObject({ resourceVersion: z.string().optional(), continue: z.string().optional() }).optional(),
  items: z.array(z.unknown()).nullable(),
});
