/**
 * Where a command's resources come from: manifest files (`-f`) or Calico's etcd datastore
 * (`--datastore etcdv3 --etcd-endpoints …`, one consistent read; docs/control-plane.md), and
 * loading them into the model or an InvalidManifestsError carrying every problem.
 */
import type { Command } from 'commander';
import { z } from 'zod';

import { formatDiagnostics, loadManifests, parseManifests, type LoadResult, type ManifestSource, type Model } from '../config/index.js';
import { addDatastoreOptions, datastoreOptionFields, datastoreSpec, DatastoreOptionError, type DatastoreFlags, type DatastoreSpec } from '../engine/datastore.js';
import { InvalidManifestsError } from './errors.js';
import { UsageError } from './output.js';

export interface InputOptions extends DatastoreFlags {
  filename?: string[] | undefined;
}

/** The zod fields of withInputOptions' flags, for a command's options schema. */
export const inputOptionFields = {
  filename: z.array(z.string().min(1)).min(1).optional(),
  ...datastoreOptionFields,
};

/** -f, or --datastore kubernetes|etcdv3 with its connection options. */
export function withInputOptions(cmd: Command): Command {
  return addDatastoreOptions(cmd.option('-f, --filename <path...>', 'manifest files or directories (YAML, multi-document, or JSON)'), 'file');
}

/** Reads and validates the resources; never throws for a user's mistake in them. */
export async function loadInput(opts: InputOptions): Promise<LoadResult> {
  let spec: DatastoreSpec;
  try {
    spec = datastoreSpec(opts);
  } catch (e) {
    throw e instanceof DatastoreOptionError ? new UsageError(e.message) : e;
  }
  if (spec.kind === 'file') {
    if (!opts.filename || opts.filename.length === 0) throw new UsageError('-f, --filename: required (or --datastore kubernetes|etcdv3)');
    return loadManifests(opts.filename);
  }
  if (opts.filename && opts.filename.length > 0) throw new UsageError(`-f and --datastore ${spec.kind} cannot be used together`);
  return parseManifests(spec.kind === 'kubernetes' ? await readKubeManifests(spec.kubeconfig) : await (await import('../engine/etcd-source.js')).readEtcdManifests(spec));
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
  // Loaded when asked for: the Kubernetes client is a large module tree every other command skips.
  const { KubeSource } = await import('../engine/kube-source.js');
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
