/**
 * The one place agentctl turns results into text: aligned tables for people, JSON for machines
 * (`-o json`). Commands build plain rows and hand them here, so every command prints alike.
 */
export type OutputFormat = 'table' | 'json';

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | boolean | undefined | null;
  align?: 'left' | 'right';
}

export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => formatCell(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

function formatCell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null || v === '') return '-';
  return String(v);
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
}

/** A mistake in how agentctl was called (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
