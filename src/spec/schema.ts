import { z } from 'zod';
import type { Simulation } from '../sim/types.js';

/** Scalar grid values; objects are allowed where a parameter is itself structured (mu specs). */
const Scalar = z.union([z.number(), z.string(), z.boolean()]);

/** Values of one grid axis: a list, or a range that expands to a list. */
export const GridValues = z.union([
  z.array(z.union([Scalar, z.record(z.string(), z.unknown())])).describe('explicit list of values'),
  z
    .object({
      geometric: z
        .object({
          from: z.number().positive().describe('first value'),
          to: z.number().positive().describe('last value (inclusive when hit exactly)'),
          factor: z.number().gt(1).default(2).describe('ratio between consecutive values; @default 2'),
        })
        .strict(),
    })
    .strict()
    .describe('geometric range: from, from·factor, ... up to to'),
  z
    .object({
      linear: z
        .object({
          from: z.number(),
          to: z.number(),
          step: z.number().positive().default(1).describe('@default 1'),
        })
        .strict(),
    })
    .strict()
    .describe('linear range: from, from+step, ... up to to'),
]);
export type GridValues = z.output<typeof GridValues>;

const Slug = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _');
const Where = z
  .record(z.string(), z.union([Scalar, z.array(Scalar)]))
  .default({})
  .describe('keep rows whose column equals the value (or one of the listed values)');

/** The columns holding the tested value's interval; absent, <column>_ci_low and <column>_ci_high where they exist. */
const Interval = z
  .tuple([z.string(), z.string()])
  .optional()
  .describe(
    "columns of the low and high end of the tested value's interval; the claim passes when the interval lies inside the range, fails when it lies outside, and is inconclusive when it straddles an edge; @default [<column>_ci_low, <column>_ci_high] where the table has them, else the value alone",
  );

const Test = z.union([
  z
    .object({
      column: z.string(),
      between: z
        .tuple([z.union([z.string(), z.number()]), z.union([z.string(), z.number()])])
        .describe('low and high bound: a column name or a number each'),
      interval: Interval,
    })
    .strict(),
  z.object({ column: z.string(), abs_below: z.number().positive(), interval: Interval }).strict(),
  z
    .object({
      column: z.string(),
      interval: Interval,
      abs_below_bonferroni: z
        .number()
        .gt(0)
        .lt(1)
        .describe('family-wise level alpha: |z| below the two-sided normal quantile at alpha/(2·rows)'),
    })
    .strict(),
]);
export type ClaimTest = z.output<typeof Test>;

const Common = {
  id: Slug,
  text: z.string().describe('the claim in words, shown in the report'),
  table: z
    .string()
    .default('results')
    .describe('results, or an analysis table of the simulation (e.g. fits); @default results'),
  where: Where,
};
export const Claim = z.discriminatedUnion('kind', [
  z
    .object({
      ...Common,
      kind: z.literal('fraction'),
      test: Test,
      at_least: z.number().gt(0).max(1).default(1).describe('fraction of rows that must pass; @default 1'),
    })
    .strict(),
  z
    .object({
      ...Common,
      kind: z.literal('slope'),
      x: z.string(),
      y: z.string(),
      per: z.array(z.string()).default([]).describe('fit one slope per group of these columns'),
      x_min: z.number().optional().describe('fit only rows with x >= x_min (the asymptotic range)'),
      largest: z
        .number()
        .int()
        .min(2)
        .optional()
        .describe('fit only the rows with the largest x in each group, this many (after x_min)'),
      expect: z.object({ target: z.number(), tol: z.number().positive() }).strict(),
    })
    .strict(),
  z
    .object({
      ...Common,
      kind: z.literal('spread'),
      column: z.string(),
      per: z.array(z.string()).default([]).describe('one spread per group of these columns'),
      below: z.number().positive().describe('(max − min) / mean of the column must stay below this in every group'),
    })
    .strict(),
  z
    .object({
      ...Common,
      kind: z.literal('monotone'),
      x: z.string(),
      y: z.string(),
      per: z.array(z.string()).default([]),
      direction: z.enum(['increasing', 'decreasing']).describe('strictly, in the order of x'),
    })
    .strict(),
]);
export type Claim = z.output<typeof Claim>;

export const Chart = z
  .object({
    id: Slug,
    title: z.string(),
    description: z.string().optional(),
    spec: z
      .record(z.string(), z.unknown())
      .describe('a Vega-Lite fragment (mark/encoding/layer/facet/transform); data, size and theme are injected'),
    slides: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'a simpler fragment with the one message for a slide: npm run figures -- <name> --theme slides draws it instead of spec',
      ),
  })
  .strict();
export type Chart = z.output<typeof Chart>;

const Header = {
  $schema: z.string().optional(),
  name: Slug.describe('experiment name; results go to results/<name>/'),
  title: z.string(),
  description: z.string(),
  seed: z.number().int().nonnegative().describe('base seed; each point and replicate derives its own'),
  replicates: z.number().int().positive().default(1).describe('independent repeats of every point; @default 1'),
  zip: z
    .array(z.array(z.string()).min(2))
    .default([])
    .describe('groups of grid parameters that advance together instead of forming a product'),
  claims: z.array(Claim).default([]),
  charts: z.array(Chart).min(1),
  notes: z.array(z.string()).default([]).describe('paragraphs shown in the report under the title'),
  labels: z
    .record(z.string(), z.string())
    .default({})
    .describe(
      'display names of values in legends and facet headers, e.g. { quadratic-kernel: "linear form (φ, degree 2)" }',
    ),
};

/** The field without its default: a quick block must overlay only what it names. */
function withoutDefault(field: z.ZodType): z.ZodType {
  return field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field;
}

/**
 * The schema of an experiment file for one simulation kind; `simulation` is its kind, or the module path a file names
 * it by.
 */
export function experimentSchema(sim: Simulation, simulation: string = sim.kind) {
  const paramKeys = Object.keys(sim.params.shape);
  const gridShape = Object.fromEntries(paramKeys.map((k) => [k, GridValues.optional()]));
  const block = z.object(gridShape).strict();
  const grid = z
    .union([block, z.array(block).min(1)])
    .describe(
      'one product of axes, or a list of blocks whose products are joined (a method-specific axis goes in its own block)',
    );
  return z
    .object({
      ...Header,
      simulation: z.literal(simulation),
      grid,
      settings: sim.settings.default(sim.settings.parse({})),
      quick: z
        .object({
          grid: grid.default({}),
          settings: z
            .object(
              Object.fromEntries(
                Object.entries(sim.settings.shape).map(([k, f]) => [k, withoutDefault(f as z.ZodType).optional()]),
              ),
            )
            .strict()
            .default({}),
        })
        .strict()
        .default({ grid: {}, settings: {} })
        .describe(
          'the --quick form: axes (merged into every block that has them, or block by block when a list) and settings that replace the full ones',
        ),
    })
    .strict();
}

/**
 * An experiment file, parsed: its type is the schema's output (settings and grid values untyped until a simulation is
 * chosen).
 */
export type Experiment = z.output<ReturnType<typeof experimentSchema>>;

/** One product of axes: parameter → values. */
export type GridBlock = Record<string, GridValues | undefined>;
/** A single block, or blocks whose points are joined. */
export type Grid = GridBlock | GridBlock[];

export function gridBlocks(grid: Grid): GridBlock[] {
  return Array.isArray(grid) ? grid : [grid];
}

/**
 * Overlay `over` on `base`: a list overlays block by block; a single block overlays every
 * base block that already has the key (or all blocks, for a key none has).
 */
export function overlayGrid(base: Grid, over: Grid): Grid {
  const blocks = gridBlocks(base);
  if (Array.isArray(over)) return blocks.map((b, i) => ({ ...b, ...(over[i] ?? {}) }));
  const entries = Object.entries(over).filter(([, v]) => v !== undefined);
  const merged = blocks.map((b) => {
    const out = { ...b };
    for (const [k, v] of entries) if (k in b || !blocks.some((x) => k in x)) out[k] = v;
    return out;
  });
  return Array.isArray(base) ? merged : merged[0]!;
}

/** The JSON Schema for editors: one branch per simulation kind. */
export function jsonSchema(sims: readonly Simulation[]): unknown {
  const branches = sims.map((s) => experimentSchema(s));
  const [first, ...rest] = branches;
  if (!first) throw new Error('no simulations registered');
  const builtIn = rest.length ? z.discriminatedUnion('simulation', [first, ...rest]) : first;
  return z.toJSONSchema(z.union([builtIn, moduleExperimentSchema()]), { io: 'input', unrepresentable: 'any' });
}

/**
 * For editors, a file whose simulation is a module of the user's (`simulation: ./corr-qk.ts`): its params and
 * settings are the module's, unknown here, so only their shape is checked (the load checks the rest, located).
 */
function moduleExperimentSchema() {
  const block = z.record(z.string(), GridValues);
  const grid = z.union([block, z.array(block).min(1)]);
  return z
    .object({
      ...Header,
      simulation: z
        .string()
        .regex(/^(\.{0,2}\/.*|.*\.(ts|mts|js|mjs))$/)
        .describe(
          'a simulation module of your own: a path relative to this file (.ts, .mts, .js or .mjs), whose default export is made with defineSimulation',
        ),
      grid,
      settings: z.record(z.string(), z.unknown()).default({}),
      quick: z
        .object({ grid: grid.default({}), settings: z.record(z.string(), z.unknown()).default({}) })
        .strict()
        .default({ grid: {}, settings: {} }),
    })
    .strict();
}
