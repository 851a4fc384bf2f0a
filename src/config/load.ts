// The one place that reads manifests from disk: files and directories (every *.yaml, *.yml and
// *.json directly inside, sorted by name). Only regular files up to 64 MiB are read (read-file.ts:
// a FIFO, socket or device is refused without being opened). Read failures are diagnostics like
// any other; the texts then go through the pure parseManifests.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigDiagnostic } from './diagnostics.js';
import type { LoadResult } from './model.js';
import { parseManifests, type ManifestSource } from './parse.js';
import { MAX_MANIFEST_BYTES, readRegularFile } from './read-file.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

function readError(file: string, rule: string, message: string): ConfigDiagnostic {
  return { severity: 'error', file, document: 0, kind: '', name: '', path: '', rule, message };
}

const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
};

export async function readManifestSources(
  paths: string | readonly string[],
  maxFileBytes = MAX_MANIFEST_BYTES,
): Promise<{ sources: ManifestSource[]; errors: ConfigDiagnostic[] }> {
  const list = typeof paths === 'string' ? [paths] : [...paths];
  const sources: ManifestSource[] = [];
  const errors: ConfigDiagnostic[] = [];
  if (list.length === 0) errors.push(readError('', 'no-manifests', 'no manifest files or directories given'));
  const read = async (file: string): Promise<void> => {
    const r = await readRegularFile(file, maxFileBytes);
    if (r.ok) sources.push({ file, text: r.bytes.toString('utf8') });
    else errors.push(readError(file, r.rule, r.message));
  };
  for (const p of list) {
    try {
      const info = await stat(p);
      if (!info.isDirectory()) {
        await read(p);
        continue;
      }
      const names: string[] = [];
      // Every manifest name but a directory: a FIFO or device among them is refused, with why.
      for (const entry of await readdir(p, { withFileTypes: true })) {
        if (MANIFEST_FILE.test(entry.name) && !entry.isDirectory()) names.push(entry.name);
      }
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (names.length === 0) errors.push(readError(p, 'no-manifests', 'directory holds no *.yaml, *.yml or *.json manifests'));
      for (const name of names) await read(path.join(p, name));
    } catch (e) {
      errors.push(readError(p, 'read', `cannot read: ${reason(e)}`));
    }
  }
  return { sources, errors };
}

/** Reads and validates manifests. Never throws for a user's mistake: returns the model or every error. */
export async function loadManifests(paths: string | readonly string[]): Promise<LoadResult> {
  const { sources, errors } = await readManifestSources(paths);
  const result = parseManifests(sources);
  if (errors.length === 0) return result;
  return {
    ok: false,
    errors: [...errors, ...(result.ok ? [] : result.errors)],
    warnings: result.ok ? result.model.warnings : result.warnings,
  };
}
