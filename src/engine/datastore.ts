/**
 * Which datastore a node's resources come from, and the one way its command-line options become
 * that choice: shared by agentd and agentctl (docs/agentd.md). Calico's own environment variables
 * (DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, KUBECONFIG)
 * are the defaults, as calico-node reads them.
 */
import fs from 'node:fs';

import type { Command } from 'commander';
import { z } from 'zod';

export const DATASTORES = ['file', 'kubernetes', 'etcdv3'] as const;

export interface EtcdConnection {
  endpoints: readonly string[];
  /** PEM contents (mutual TLS), as calicoctl's etcdCACertFile / etcdCertFile / etcdKeyFile. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
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
  if (kind === 'kubernetes') return { kind, ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}) };
  if (!flags.etcdEndpoints) throw new DatastoreOptionError('--etcd-endpoints (or $ETCD_ENDPOINTS) is required with --datastore etcdv3');
  const read = (flag: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new DatastoreOptionError(`${flag}: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const ca = read('--etcd-ca-cert-file', flags.etcdCaCertFile);
  const cert = read('--etcd-cert-file', flags.etcdCertFile);
  const key = read('--etcd-key-file', flags.etcdKeyFile);
  if ((cert || key) && !ca) throw new DatastoreOptionError('--etcd-cert-file and --etcd-key-file need --etcd-ca-cert-file');
  const endpoints = flags.etcdEndpoints.split(',').map((u) => u.trim()).filter(Boolean);
  return { kind, endpoints, ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}) };
}
