// Where the compiled library and BPF objects are, from dist/test/helpers/*.js or test/helpers/*.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const repoRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

/** build/bpf/fixtures/<name>.bpf.o, compiled from test/fixtures/bpf/<name>.bpf.c. */
export function fixture(name: string): string {
  return path.join(repoRoot, 'build/bpf/fixtures', `${name}.bpf.o`);
}

/** The compiled library entry point, for child processes. */
export const libEntry = path.join(repoRoot, 'dist/src/bpf/index.js');
