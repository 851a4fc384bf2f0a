/**
 * Which datastore a node's resources come from, and the one way its command-line options become
 * that choice: shared by agentd and agentctl (docs/agentd.md). Calico's own environment variables
 * (DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, KUBECONFIG)
 * are the defaults, as calico-node reads them.
 */
import fs from 'node:fs';

import type { Command } from 'commander';
import { z } from 'zod';

import { nonRegularKind, readRegularFileSync } from '../config/read-file.js';

/** A PEM certificate or key is a few KiB; a bundle of CAs well under this. */
const MAX_CREDENTIAL_BYTES = 1024 * 1024;

import type { Logger } from 'pino';

import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { RawDocument } from '../config/documents.js';
import { resolveBlock, resolveNode, resolvePool } from '../config/resolve.js';
import { classifyDocuments } from '../config/resources.js';
import type { EventSink } from './events.js';

export const DATASTORES = ['file', 'kubernetes', 'etcdv3'] as const;

export interface EtcdConnection {
  endpoints: readonly string[];
  /** PEM contents (mutual TLS), as calicoctl's etcdCACertFile / etcdCertFile / etcdKeyFile. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

/** What a datastore source reports besides its events (etcd-source.ts, kube-source.ts). */
export interface DatastoreHooks {
  sink: EventSink;
  log?: Logger;
  /** Objects skipped because they fail their own rules (for status and metrics). */
  onSkipped?: (key: string, diagnostics: readonly ConfigDiagnostic[]) => void;
  /** An object is accepted or deleted: no longer skipped, if it was. */
  onAccepted?: (key: string) => void;
  /** Connection state changes (for health: "stale since"). */
  onConnection?: (up: boolean, why?: string) => void;
  /** Backoff bounds for relisting or restarting after errors (ms). */
  backoff?: { min: number; max: number };
}

export type DatastoreSpec =
  | { kind: 'file' }
  | ({ kind: 'etcdv3' } & EtcdConnection)
  | { kind: 'kubernetes'; kubeconfig?: string };

/** The flags as commander gives them (zod-checked by each command's schema). */
export const datastoreOptionFields = {
  datastore: z.enum(DATASTORES),
  kubeconfig: z.string().optional(),
  etcdEndpoints: z.string().optional(),
  etcdCaCertFile: z.string().optional(),
  etcdCertFile: z.string().optional(),
  etcdKeyFile: z.string().optional(),
};

export type DatastoreFlags = { [K in keyof typeof datastoreOptionFields]?: z.output<(typeof datastoreOptionFields)[K]> | undefined };

/** --datastore, --kubeconfig and the etcd connection flags. */
export function addDatastoreOptions(cmd: Command, defaultKind = process.env['DATASTORE_TYPE'] || 'file'): Command {
  return cmd
    .option('--datastore <kind>', 'file, kubernetes (Calico\'s KDD: CRDs and Node annotations) or etcdv3 (Calico\'s etcd datastore); default $DATASTORE_TYPE, else file', defaultKind)
    .option('--kubeconfig <file>', 'kubeconfig for --datastore kubernetes (default: the in-cluster service account); default $KUBECONFIG', process.env['KUBECONFIG'])
    .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs for --datastore etcdv3; default $ETCD_ENDPOINTS', process.env['ETCD_ENDPOINTS'])
    .option('--etcd-ca-cert-file <file>', 'etcd CA certificate (PEM); default $ETCD_CA_CERT_FILE', process.env['ETCD_CA_CERT_FILE'])
    .option('--etcd-cert-file <file>', 'etcd client certificate (PEM); default $ETCD_CERT_FILE', process.env['ETCD_CERT_FILE'])
    .option('--etcd-key-file <file>', 'etcd client key (PEM); default $ETCD_KEY_FILE', process.env['ETCD_KEY_FILE']);
}

/** A flag that cannot be used as given: the command says it as a usage error (exit 2). */
export class DatastoreOptionError extends Error {
  override readonly name = 'DatastoreOptionError';
}

/** The flags → the datastore (certificate files read here); throws DatastoreOptionError. */
export function datastoreSpec(flags: DatastoreFlags): DatastoreSpec {
  const kind = flags.datastore ?? 'file';
  if (kind === 'file') return { kind };
  if (kind === 'kubernetes') {
    // The Kubernetes client reads it: checked here to be a regular file of sane size, so that a FIFO cannot hang it.
    if (flags.kubeconfig) {
      const st = fs.statSync(flags.kubeconfig, { throwIfNoEntry: false });
      if (!st) throw new DatastoreOptionError(`--kubeconfig: ${flags.kubeconfig}: no such file`);
      const not = nonRegularKind(st);
      if (not !== undefined) throw new DatastoreOptionError(`--kubeconfig: ${flags.kubeconfig} is ${not}, not a regular file`);
      if (st.size > MAX_CREDENTIAL_BYTES * 16) throw new DatastoreOptionError(`--kubeconfig: ${flags.kubeconfig} is ${st.size} bytes, over the ${MAX_CREDENTIAL_BYTES * 16}-byte limit for a kubeconfig`);
    }
    return { kind, ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}) };
  }
  if (!flags.etcdEndpoints) throw new DatastoreOptionError('--etcd-endpoints (or $ETCD_ENDPOINTS) is required with --datastore etcdv3');
  // Regular files of bounded size only: a FIFO given here would block the start forever.
  const read = (flag: string, file: string | undefined) => {
    if (!file) return undefined;
    const r = readRegularFileSync(file, MAX_CREDENTIAL_BYTES, 'certificate');
    if (!r.ok) throw new DatastoreOptionError(`${flag}: ${file} ${r.message}`);
    return r.bytes;
  };
  const ca = read('--etcd-ca-cert-file', flags.etcdCaCertFile);
  const cert = read('--etcd-cert-file', flags.etcdCertFile);
  const key = read('--etcd-key-file', flags.etcdKeyFile);
  if ((cert || key) && !ca) throw new DatastoreOptionError('--etcd-cert-file and --etcd-key-file need --etcd-ca-cert-file');
  const endpoints = flags.etcdEndpoints.split(',').map((u) => u.trim()).filter(Boolean);
  return { kind, endpoints, ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}) };
}

/** The errors of one object on its own (schema and per-resource rules): what makes it skipped. */
export function errorsAlone(doc: RawDocument): ConfigDiagnostic[] {
  const c = classifyDocuments([doc]);
  const out = c.diagnostics.filter((d) => d.severity === 'error');
  for (const r of c.resources) {
    const ds =
      r.kind === 'IPPool' ? resolvePool(r, 'ipip').diagnostics
        : r.kind === 'Node' ? resolveNode(r).diagnostics
          : r.kind === 'BlockAffinity' ? resolveBlock(r).diagnostics
            : [];
    for (const d of ds) if (d.severity === 'error') out.push(d);
  }
  return out;
}
