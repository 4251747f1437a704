/** Results as data, shared by every stage: the experiments make rows, claims read them, the report writes them. */

/** A cell of results.csv: a list of numbers (raw timing samples) stays numbers until the CSV writer formats it. */
export type Cell = string | number | boolean | null | readonly number[];
/** One tidy row: column name → value. */
export type Row = Record<string, Cell>;
