/**
 * agentctl's one root logger: pino on stderr (stdout carries the command's output), at the level
 * of --log-level. Library code gets `child({ component })` loggers from it.
 */
import { pino, type Logger } from 'pino';

import type { LogLevel } from '../agent/logger.js';

export function rootLogger(level: LogLevel): Logger {
  return pino({ name: 'agentctl', level }, pino.destination(2));
}
