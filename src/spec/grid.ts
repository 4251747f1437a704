import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { AttnlabError, type SourceLocation } from '../errors.js';
import { msg } from '../messages.js';
import { notApplicableReason, type Simulation } from '../sim/types.js';
import { gridBlocks, type Experiment, type GridBlock, type GridValues } from './schema.js';
import { describeExpected } from './issue.js';
import { formatPath, type Locator } from './locate.js';

/** One point of the grid: its parameters and a stable id (hash of the parameters, not of the position). */
export interface Point<P = Record<string, unknown>> {
  readonly id: string;
  /** Position in grid order; results.csv follows it whatever order points ran in. */
  readonly index: number;
  readonly params: P;
}

/** A grid expanded: each block's axes with the values they take, and the points of all blocks in order. */
export interface ExpandedGrid<P = Record<string, unknown>> {
  blocks: Record<string, unknown[]>[];
  points: Point<P>[];
  /** One line per parameter a --set left without meaning in a block's points, dropped from them. */
  notes: string[];
}

/** The grid parameters a --set gave block i, with the --set as typed (none for a grid as the file wrote it). */
export type SetIn = (block: number) => readonly { key: string; raw: string }[];

/** Largest grid we expand; beyond it a typo (a huge range) is more likely than intent. */
export const MAX_POINTS = 100_000;
const MAX_AXIS = 10_000;

/** Canonical JSON: keys sorted at every depth, undefined dropped, so equal params give equal ids. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

export function pointId(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex').slice(0, 12);
}

/** Expand one axis to its list of values; `loc` is where errors point. */
export function expandValues(key: string, values: GridValues, loc?: SourceLocation): unknown[] {
  if (Array.isArray(values)) {
    if (values.length === 0) throw new AttnlabError('EMPTY_GRID', msg.emptyGrid(key), loc);
    return values;
  }
  const out: number[] = [];
  if ('geometric' in values) {
    const { from, to, factor } = values.geometric;
    if (to < from)
      throw new AttnlabError('BAD_GRID', msg.badRange(key, `geometric range goes down (from ${from} to ${to})`), loc);
    // Multiply from an integer exponent so 2^10 is exactly 1024, not an accumulated product.
    for (let i = 0; ; i++) {
      const v = Number((from * factor ** i).toPrecision(12));
      if (v > to * (1 + 1e-12)) break;
      out.push(v);
      if (out.length > MAX_AXIS) throw new AttnlabError('BAD_GRID', msg.gridTooLarge(out.length, MAX_AXIS), loc);
    }
  } else {
    const { from, to, step } = values.linear;
    if (to < from)
      throw new AttnlabError('BAD_GRID', msg.badRange(key, `linear range goes down (from ${from} to ${to})`), loc);
    if ((to - from) / step > MAX_AXIS)
      throw new AttnlabError('BAD_GRID', msg.gridTooLarge(Math.floor((to - from) / step), MAX_AXIS), loc);
    for (let i = 0; from + i * step <= to + 1e-12 * Math.abs(step); i++)
      out.push(Number((from + i * step).toPrecision(12)));
  }
  if (out.length === 0) throw new AttnlabError('EMPTY_GRID', msg.emptyGrid(key), loc);
  return out;
}

/**
 * Expand the grid: in each block, the product of its axes, where each zip group is one axis
 * of tuples; axes follow the file's key order, the first varying slowest. Blocks are joined
 * in order; a point that two blocks both produce is kept once. In a block a --set changed (`setIn`), a parameter
 * the file gave but that no longer applies to a point (the simulation says so with `notApplicable`) is dropped
 * from that point, with a note, instead of failing it.
 */
export function expandGrid<P extends z.ZodObject>(
  exp: Experiment,
  sim: Simulation<P>,
  where?: Locator,
  setIn: SetIn = () => [],
): ExpandedGrid<z.output<P>> {
  const list = Array.isArray(exp.grid);
  const points: Point<z.output<P>>[] = [];
  const blocks: Record<string, unknown[]>[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  gridBlocks(exp.grid).forEach((block, bi) => {
    const path = list ? ['grid', bi] : ['grid'];
    const set = setIn(bi);
    const expanded = expandBlock(block, exp.zip, exp.settings, sim, path, where, set);
    blocks.push(expanded.axes);
    let again = 0;
    for (const params of expanded.points) {
      const id = pointId(params);
      if (seen.has(id)) {
        again++;
        continue;
      }
      seen.add(id);
      points.push({ id, index: points.length, params });
      if (points.length > MAX_POINTS)
        throw new AttnlabError('BAD_GRID', msg.gridTooLarge(points.length, MAX_POINTS), where?.at(['grid']));
    }
    const keys = [...expanded.dropped.keys()];
    if (keys.length)
      notes.push(
        msg.gridAxesDropped(
          formatPath(path),
          keys,
          set.map((s) => s.raw),
          expanded.droppedPoints,
          again,
        ),
      );
  });
  return { blocks, points, notes };
}

function expandBlock<P extends z.ZodObject>(
  block: GridBlock,
  zip: string[][],
  settings: Record<string, unknown>,
  sim: Simulation<P>,
  path: (string | number)[],
  where: Locator | undefined,
  set: ReturnType<SetIn>,
): {
  axes: Record<string, unknown[]>;
  points: z.output<P>[];
  /** Parameters dropped from some points (they no longer apply after a --set), and how many points lost any. */
  dropped: Set<string>;
  droppedPoints: number;
} {
  const paramKeys = Object.keys(sim.params.shape);
  const gridKeys = Object.keys(block).filter((k) => block[k] !== undefined);
  for (const k of gridKeys) {
    if (!paramKeys.includes(k))
      throw new AttnlabError('BAD_GRID', msg.gridUnknownParam(k, paramKeys), where?.at(path, { key: k }));
  }
  const lists = new Map<string, unknown[]>();
  for (const k of gridKeys) lists.set(k, expandValues(k, block[k]!, where?.at([...path, k])));

  type Axis = { keys: string[]; tuples: unknown[][] };
  const axes: Axis[] = [];
  const groups = zip.map((g) => g.filter((k) => lists.has(k))).filter((g) => g.length > 1);
  zip.forEach((group, gi) => {
    for (const k of group) {
      if (!paramKeys.includes(k)) throw new AttnlabError('BAD_GRID', msg.zipUnknown(k), where?.at(['zip', gi]));
    }
  });
  for (const group of groups) {
    const lengths = group.map((k) => lists.get(k)!.length);
    if (new Set(lengths).size > 1) throw new AttnlabError('BAD_GRID', msg.zipLengths(group, lengths), where?.at(path));
  }
  for (const k of gridKeys) {
    if (axes.some((a) => a.keys.includes(k))) continue;
    const group = groups.find((g) => g.includes(k));
    if (group) {
      const n = lists.get(k)!.length;
      axes.push({ keys: group, tuples: Array.from({ length: n }, (_, i) => group.map((g) => lists.get(g)![i])) });
    } else {
      axes.push({ keys: [k], tuples: lists.get(k)!.map((v) => [v]) });
    }
  }
  const count = axes.reduce((n, a) => n * a.tuples.length, 1);
  if (count > MAX_POINTS) throw new AttnlabError('BAD_GRID', msg.gridTooLarge(count, MAX_POINTS), where?.at(path));

  const out: z.output<P>[] = [];
  const dropped = new Set<string>();
  let droppedPoints = 0;
  // Only a parameter the file gave this block, in a block a --set changed, and not one the --set gave itself.
  const droppable = (k: string) => set.length > 0 && gridKeys.includes(k) && !set.some((s) => s.key === k);
  const idx = axes.map(() => 0);
  const schema = sim.paramsFor?.(settings) ?? sim.params;
  for (let p = 0; p < count; p++) {
    const raw: Record<string, unknown> = {};
    axes.forEach((a, ai) => a.keys.forEach((k, j) => (raw[k] = a.tuples[idx[ai]!]![j])));
    const before = Object.keys(raw).length;
    const parsed = parseDropping(schema, raw, droppable, (key) => dropped.add(key));
    if (Object.keys(raw).length < before) droppedPoints++;
    if (!parsed.success) throw pointError(parsed.error.issues[0]!, raw, path, where);
    out.push(parsed.data as z.output<P>);
    for (let ai = axes.length - 1; ai >= 0; ai--) {
      idx[ai]! += 1;
      if (idx[ai]! < axes[ai]!.tuples.length) break;
      idx[ai] = 0;
    }
  }
  return { axes: Object.fromEntries(lists), points: out, dropped, droppedPoints };
}

/** The error of a point its schema refuses, located at the parameter the issue names. */
function pointError(
  issue: z.core.$ZodIssue,
  raw: Record<string, unknown>,
  path: (string | number)[],
  where: Locator | undefined,
): AttnlabError {
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'custom')
    return new AttnlabError(
      'BAD_GRID',
      msg.gridPointInvalid(formatPath(path), canonicalJson(raw), issue.message),
      where?.at([...path, ...issue.path.map(String)]),
    );
  if (!(key in raw)) return new AttnlabError('BAD_GRID', msg.gridMissingParam(key), where?.at(path));
  return new AttnlabError(
    'BAD_GRID',
    msg.wrongValue(`${formatPath(path)}.${key}`, raw[key], describeExpected(issue)),
    where?.at([...path, key]),
  );
}

/** Parse a point, dropping (from `raw`) each droppable parameter the schema says does not apply to it. */
function parseDropping<P extends z.ZodType>(
  schema: P,
  raw: Record<string, unknown>,
  droppable: (key: string) => boolean,
  onDrop: (key: string) => void,
): ReturnType<P['safeParse']> {
  for (;;) {
    const parsed = schema.safeParse(raw) as ReturnType<P['safeParse']>;
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const reason = issue ? notApplicableReason(issue as { code: string; params?: Record<string, unknown> }) : undefined;
    if (reason === undefined || !(key in raw) || !droppable(key)) return parsed;
    delete raw[key];
    onDrop(key);
  }
}
