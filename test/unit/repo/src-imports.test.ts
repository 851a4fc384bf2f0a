// The image ships dist/src with production dependencies only (deploy/Containerfile: npm prune
// --omit=dev), so a module under src/ that imports a dev dependency (fast-check, ava, …) cannot
// load there. Every package src/ imports must be a Node built-in or in package.json's
// "dependencies"; test-only code lives under test/ (test/arbitraries/ for the generators).
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from '../../helpers/paths.js';

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** The package names a TypeScript source imports (relative paths left out). */
function importedPackages(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || spec.startsWith('.') || spec.startsWith('/')) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...names];
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

test('importedPackages reads static, re-export, side-effect and dynamic imports and leaves relative ones out', (t) => {
  const src = [
    "import fc from 'fast-check';",
    "import { z } from 'zod';",
    "import type { Foo } from '@kubernetes/client-node/dist/x.js';",
    "export { a } from 'yaml';",
    "import 'pino';",
    "const m = await import('prom-client');",
    "import { b } from './local.js';",
    "import os from 'node:os';",
  ].join('\n');
  t.deepEqual(importedPackages(src).sort(), ['@kubernetes/client-node', 'fast-check', 'node:os', 'pino', 'prom-client', 'yaml', 'zod']);
});

test('src/ imports only Node built-ins and production dependencies', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const files = sources(path.join(repoRoot, 'src'));
  t.true(files.length > 100, `${files.length} sources under src/`);
  const offending = files.flatMap((f) =>
    importedPackages(fs.readFileSync(f, 'utf8')).filter((p) => !allowed.has(p)).map((p) => `${path.relative(repoRoot, f)}: ${p}`));
  t.deepEqual(offending, []);
});
