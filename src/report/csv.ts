import { stringify } from 'csv-stringify/sync';
import type { Cell, Row } from '../sim/types.js';

/** A cell as text-like data: a list of numbers (raw timing samples) as `;`-separated ms to the microsecond. */
export const flatCell = (c: Cell | undefined): string | number | boolean | null =>
  Array.isArray(c) ? c.map((s: number) => s.toFixed(3)).join(';') : ((c ?? null) as string | number | boolean | null);

/** Tidy CSV: one header, the declared column order, numbers in full precision, empty for null. */
export function toCsv(columns: readonly string[], rows: readonly Row[]): string {
  return stringify(
    rows.map((r) => columns.map((c) => flatCell(r[c]))),
    {
      header: true,
      columns: [...columns],
      cast: { boolean: (v: boolean) => String(v), number: (v: number) => String(v) },
    },
  );
}
