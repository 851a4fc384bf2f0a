#!/usr/bin/env node
// The lab from the command line (as root):
//   node dist/scripts/lab.js list               labs left on this machine (by prefix)
//   node dist/scripts/lab.js down PREFIX...     remove them: processes, namespaces, mounts, files
//   node dist/scripts/lab.js down --all
import { useSystemToolPath } from '../src/agent/exec.js';
import { destroyLab, labNamespaces, listLabs } from '../src/lab/lab.js';

useSystemToolPath();

function usage(): never {
  process.stderr.write('usage: lab.js list | down PREFIX... | down --all\n');
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'list') {
  const labs = listLabs();
  if (labs.length === 0) process.stdout.write('no labs\n');
  for (const p of labs) process.stdout.write(`${p}  ${labNamespaces(p).length} namespaces\n`);
} else if (command === 'down') {
  const prefixes = args.includes('--all') ? listLabs() : args;
  if (prefixes.length === 0) usage();
  for (const p of prefixes) {
    destroyLab(p);
    process.stdout.write(`${p} removed\n`);
  }
} else {
  usage();
}
