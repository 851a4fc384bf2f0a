/**
 * Option parsing for agentctl's commands (shadcn's way): commander collects strings, each command
 * validates them with a strict zod schema that also resolves them (numbers, enums, addresses),
 * and every problem becomes one `--flag: message` line of a UsageError (exit 2).
 */
import { z } from 'zod';

import { LOG_LEVELS } from '../agent/logger.js';
import { UsageError, type OutputFormat } from './output.js';

/** --pin-root and --log-level, defined on the program and seen by every command. */
export const globalOptions = {
  pinRoot: z.string().min(1, 'must be a directory'),
  logLevel: z.enum(LOG_LEVELS),
};

export const outputOption = z.enum(['table', 'json']) satisfies z.ZodType<OutputFormat>;

/** A decimal integer given as text, within [min, max]. */
export function intOption(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** The uplink MTU tunnel MTUs derive from: at least 118 (VXLAN's 50 bytes + IPv4's minimum 68). */
export const uplinkMtuOption = intOption(118, 65535);

export const ipv4Option = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, 'must be an IPv4 address like 10.0.1.10');

export const ifnameOption = z.string().regex(/^[a-zA-Z0-9_.:-]{1,15}$/, 'must be an interface name (1-15 characters)');

const flagOf = (key: PropertyKey): string => `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Validates commander's option object; throws a UsageError naming each bad flag. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unexpected option(s): ${issue.keys.map(flagOf).join(', ')}`;
    const flag = issue.path.length > 0 ? flagOf(issue.path[0]!) : 'options';
    const message = issue.code === 'invalid_value' && 'values' in issue ? `must be one of ${issue.values.join(', ')}` : issue.message;
    return `${flag}: ${message}`;
  });
  throw new UsageError(lines.join('\n'));
}
