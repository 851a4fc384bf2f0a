/** Loading manifests for a command: the model, or an InvalidManifestsError carrying every problem. */
import { formatDiagnostics, loadManifests, type Model } from '../config/index.js';
import { InvalidManifestsError } from './errors.js';

export async function loadModelOrThrow(paths: readonly string[], warn = true): Promise<Model> {
  const result = await loadManifests(paths);
  if (!result.ok) throw new InvalidManifestsError(result.errors);
  if (warn && result.model.warnings.length > 0) process.stderr.write(formatDiagnostics(result.model.warnings));
  return result.model;
}
