/**
 * Where a command's resources come from: manifest files (`-f`) or Calico's etcd datastore
 * (`--datastore etcdv3 --etcd-endpoints …`, one consistent read; docs/control-plane.md), and
 * loading them into the model or an InvalidManifestsError carrying every problem.
 */
import fs from 'node:fs';

import type { Command } from 'commander';
import { formatDiagnostics, loadManifests, parseManifests, type LoadResult, type ManifestSource, type Model } from '../config/index.js';
import { KubeSource } from '../engine/kube-source.js';
import { readEtcdManifests } from '../engine/etcd-source.js';
import { InvalidManifestsError } from './errors.js';
import { UsageError } from './output.js';

export interface InputOptions {
  filename?: string[] | undefined;
  datastore?: string | undefined;
  etcdEndpoints?: string | undefined;
  etcdCaCertFile?: string | undefined;
  etcdCertFile?: string | undefined;
  etcdKeyFile?: string | undefined;
  kubeconfig?: string | undefined;
}

/** -f, or --datastore etcdv3 with its connection options (Calico's ETCD_* variables as defaults). */
export function withInputOptions(cmd: Command): Command {
  return cmd
    .option('-f, --filename <path...>', 'manifest files or directories (YAML, multi-document, or JSON)')
    .option('--datastore <kind>', 'file (-f), kubernetes (Calico\'s KDD) or etcdv3 (Calico\'s etcd datastore)', 'file')
    .option('--kubeconfig <file>', 'kubeconfig for --datastore kubernetes; default $KUBECONFIG, else the in-cluster service account', process.env['KUBECONFIG'])
    .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs; default $ETCD_ENDPOINTS', process.env['ETCD_ENDPOINTS'])
    .option('--etcd-ca-cert-file <file>', 'etcd CA certificate (PEM); default $ETCD_CA_CERT_FILE', process.env['ETCD_CA_CERT_FILE'])
    .option('--etcd-cert-file <file>', 'etcd client certificate (PEM); default $ETCD_CERT_FILE', process.env['ETCD_CERT_FILE'])
    .option('--etcd-key-file <file>', 'etcd client key (PEM); default $ETCD_KEY_FILE', process.env['ETCD_KEY_FILE']);
}

/** Reads and validates the resources; never throws for a user's mistake in them. */
export async function loadInput(opts: InputOptions): Promise<LoadResult> {
  const kind = opts.datastore ?? 'file';
  if (kind === 'file') {
    if (!opts.filename || opts.filename.length === 0) throw new UsageError('-f, --filename: required (or --datastore etcdv3)');
    return loadManifests(opts.filename);
  }
  if (kind !== 'etcdv3' && kind !== 'kubernetes') throw new UsageError('--datastore: must be one of file, kubernetes, etcdv3');
  if (opts.filename && opts.filename.length > 0) throw new UsageError(`-f and --datastore ${kind} cannot be used together`);
  if (kind === 'kubernetes') return parseManifests(await readKubeManifests(opts.kubeconfig));
  if (!opts.etcdEndpoints) throw new UsageError('--etcd-endpoints: required with --datastore etcdv3 (or $ETCD_ENDPOINTS)');
  const read = (flag: string, f: string | undefined) => {
    if (!f) return undefined;
    try {
      return fs.readFileSync(f);
    } catch (e) {
      throw new UsageError(`${flag}: cannot read ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const ca = read('--etcd-ca-cert-file', opts.etcdCaCertFile);
  const cert = read('--etcd-cert-file', opts.etcdCertFile);
  const key = read('--etcd-key-file', opts.etcdKeyFile);
  const endpoints = opts.etcdEndpoints.split(',').map((u) => u.trim()).filter(Boolean);
  const sources = await readEtcdManifests({ endpoints, ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}) });
  return parseManifests(sources);
}

export async function loadModelOrThrow(input: InputOptions, warn = true): Promise<Model> {
  const result = await loadInput(input);
  if (!result.ok) throw new InvalidManifestsError(result.errors);
  if (warn && result.model.warnings.length > 0) process.stderr.write(formatDiagnostics(result.model.warnings));
  return result.model;
}

/**
 * One full list of Calico's Kubernetes datastore as manifest sources (each object a "file"
 * named by its API path). Objects the source skips (a Node without Calico's address annotation)
 * are said on stderr.
 */
async function readKubeManifests(kubeconfig: string | undefined): Promise<ManifestSource[]> {
  const sources: ManifestSource[] = [];
  const source = new KubeSource({
    ...(kubeconfig ? { kubeconfig } : { inCluster: true }),
    sink: (events) => {
      for (const e of events) {
        if (e.type !== 'replace') continue;
        for (const item of e.items) if ('value' in item) sources.push({ file: e.source.id, text: JSON.stringify(item.value) });
      }
    },
    onSkipped: (key, ds) => process.stderr.write(`${key}: skipped: ${ds.map((d) => d.message).join('; ')}\n`),
  });
  try {
    await source.start();
  } finally {
    source.close();
  }
  return sources.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
