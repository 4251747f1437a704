import { stringify } from 'csv-stringify/sync';
import type { Row } from '../sim/types.js';

/** Tidy CSV: one header, the declared column order, numbers in full precision, empty for null. */
export function toCsv(columns: readonly string[], rows: readonly Row[]): string {
  return stringify(
    rows.map((r) => columns.map((c) => r[c] ?? null)),
    {
      header: true,
      columns: [...columns],
      cast: { boolean: (v: boolean) => String(v), number: (v: number) => String(v) },
    },
  );
}
