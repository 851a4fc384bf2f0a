// Compile options (the node's facts the manifests do not carry) and the error compile raises
// when the inputs cannot describe a node: same diagnostic shape and formatter as manifests.
import { z } from 'zod';
import { formatDiagnostics, type ConfigDiagnostic } from '../config/diagnostics.js';
import { isMulticastMac, parseMac } from '../config/mac.js';
import { BURROW_DEFAULT_TTL, BURROW_IPIP_OVERHEAD, BURROW_VXLAN_OVERHEAD } from '../generated/burrow-h.js';

export { BURROW_DEFAULT_TTL } from '../generated/burrow-h.js';
/** Outer IPv4 (burrow.h's BURROW_IPIP_OVERHEAD). */
export const IPIP_OVERHEAD = BURROW_IPIP_OVERHEAD;
/** Outer IPv4 + UDP + VXLAN + inner Ethernet (burrow.h's BURROW_VXLAN_OVERHEAD). */
export const VXLAN_OVERHEAD = BURROW_VXLAN_OVERHEAD;
export const MIN_TUNNEL_MTU = 68;
export const DECAP_SOURCE_CHECKS = ['strict', 'pool'] as const;

const ifname = z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'must be an interface name of 1-15 letters, digits, _ . -');

export const CompileOptionsSchema = z.strictObject({
  uplinkMtu: z.number().int().min(MIN_TUNNEL_MTU + VXLAN_OVERHEAD).max(65535).default(1500),
  tunnelDevice: ifname.default('burrow0'),
  uplinkDevice: ifname.optional(),
  uplinkIfindex: z.number().int().min(0).max(0xffffffff).default(0),
  uplinkMac: z
    .string()
    .refine((v) => parseMac(v) !== undefined && !isMulticastMac(parseMac(v)!), 'must be a unicast MAC like 02:00:00:00:00:01')
    .transform((v) => parseMac(v)!)
    .optional(),
  ttl: z.number().int().min(1).max(255).default(BURROW_DEFAULT_TTL),
  /** Decap's inner source check (docs/datapath.md step 12): 'strict' or 'pool'. */
  decapSourceCheck: z.enum(DECAP_SOURCE_CHECKS).default('strict'),
});

export type CompileOptions = z.input<typeof CompileOptionsSchema>;
export type ResolvedCompileOptions = z.output<typeof CompileOptionsSchema>;

/** The inputs cannot produce a DesiredState (unknown local node, impossible options). */
export class CompileError extends Error {
  override readonly name = 'CompileError';
  constructor(readonly diagnostics: readonly ConfigDiagnostic[]) {
    super(formatDiagnostics(diagnostics));
  }
}

export function compileDiagnostic(path: string, rule: string, message: string, kind = '', name = ''): ConfigDiagnostic {
  return { severity: 'error', file: '', document: 0, kind, name, path, rule, message };
}

export function resolveCompileOptions(options: CompileOptions): ResolvedCompileOptions {
  const parsed = CompileOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  throw new CompileError(
    parsed.error.issues.map((i) => compileDiagnostic(i.path.map(String).join('.'), 'compile-option', `invalid compile option: ${i.message}`)),
  );
}
