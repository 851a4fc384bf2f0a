// The fuzz campaign (`npm run fuzz`): each datapath program against the reference codec on a
// million generated cases (by default), through BPF_PROG_TEST_RUN, with the same comparison as
// the differential tests (return code, output bytes, exactly one counter by 1 packet and the
// frame length). Needs root.
//
// Cases come in batches: one node config and route table (or peer list), then up to --batch frames
// against it (harness/batch-*.ts), so the maps are written once per batch. --per-case draws every
// case from the codec's own scenario arbitraries instead (fresh tables each time; slower).
// xdp_encap runs in the FIB lab namespace (harness/fib-lab.ts), arriving on lo, ua or ub.
//
// The first mismatch stops that program's campaign: fast-check shrinks the batch, the report
// shows the seed, the shrunk counterexample and the readable difference, and the exit status
// is 1. Progress goes to stderr, the report to stdout.
import { parseArgs } from 'node:util';

import { PROGRAM_NAMES, isProgramName, type ProgramName } from './harness/datapath.js';
import { report, runProgram, type CampaignResult, type Settings } from './harness/campaign.js';

const USAGE = `usage: node dist/test/bpf/fuzz.js [options]   (npm run fuzz -- [options])

  --cases N        cases per program (default 1000000)
  --seed S         fast-check seed (default: random; printed)
  --program NAME   tc_encap, xdp_encap, tc_decap or xdp_decap; repeat or comma-separate (default: all four)
  --batch K        frames per generated table (default 64)
  --per-case       fresh tables for every case, from the codec's scenario arbitraries
  --seconds SEC    time budget per program: stop at --cases or after SEC seconds, whichever first
                   (rounds of at most 256 batches; the report gives the cases done)
  --progress SEC   seconds between progress lines on stderr (default 15; 0: none)
  -h, --help`;

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      program: { type: 'string', multiple: true },
      batch: { type: 'string' },
      'per-case': { type: 'boolean' },
      progress: { type: 'string' },
      seconds: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return n;
  };
  const programs = (values.program ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  for (const p of programs) if (!isProgramName(p)) throw new UsageError(`--program ${p}: not one of ${PROGRAM_NAMES.join(', ')}`);
  return {
    cases: int('cases', values.cases, 1_000_000, 1),
    seed: values.seed !== undefined ? int('seed', values.seed, 0, -(2 ** 31)) | 0 : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0,
    batch: int('batch', values.batch, 64, 1),
    perCase: values['per-case'] ?? false,
    programs: programs.length ? (programs as ProgramName[]) : PROGRAM_NAMES,
    progressSeconds: int('progress', values.progress, 15, 0),
    ...(values.seconds !== undefined ? { seconds: int('seconds', values.seconds, 0, 1) } : {}),
  };
}

class UsageError extends Error {}

function main(): number {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the fuzz campaign needs root (BPF_PROG_TEST_RUN, bpffs, network namespaces)\n');
    return 2;
  }
  process.stderr.write(`burrow fuzz: seed ${settings.seed}, programs ${settings.programs.join(', ')}\n`);
  const results: CampaignResult[] = [];
  for (const name of settings.programs) {
    const r = runProgram(name, settings);
    process.stderr.write(`[${name}] done: ${r.cases} cases in ${r.seconds.toFixed(1)} s${r.failure ? ', MISMATCH' : ''}\n`);
    results.push(r);
  }
  process.stdout.write(report(settings, results));
  return results.some((r) => r.failure) ? 1 : 0;
}

process.exitCode = main();
