/**
 * Derived tables of mha-vs-mqa: MHA/MQA ratios per shape (bytes, KV reads, FLOPs, time) on the graph kernel, the
 * kernels table (each variant's best kernel against the bandwidth bound, quantized caches against float32, MLA's
 * bytes against its formula, windows' time past the window), the published designs' KV bytes per token, and
 * roofline curves with the decode steps placed on them.
 */
import { decodeCost, KV_DTYPE_BYTES, mlaAsymptoticIntensity, mlaRidgeHeads, type KvDtype } from './cost.js';
import type { MhaVsMqaRow } from './rows.js';
import type { Analysis, Row } from '../types.js';
import seedrandom from 'seedrandom';
import { bootstrapRatio } from '../../stats/compare.js';
import { ratioOf, type Estimate } from '../../stats/verdict.js';

export const RATIO_COLUMNS = [
  'kind',
  'b',
  'd',
  'h',
  'n',
  'kv_read_ratio',
  'kv_read_ratio_over_h',
  'flops_diff',
  'flops_diff_over_projection',
  'byte_ratio',
  'time_ratio',
  'time_ratio_ci_low',
  'time_ratio_ci_high',
  'time_ratio_growth',
  'time_ratio_growth_ci_low',
  'time_ratio_growth_ci_high',
  'n_from',
  'n_to',
] as const;
export const KERNEL_COLUMNS = [
  'kind',
  'variant',
  'kernel',
  'kv_dtype',
  'b',
  'd',
  'h',
  'n',
  'window',
  'best_kernel',
  'time_over_bound',
  'time_over_bound_ci_low',
  'time_over_bound_ci_high',
  'time_over_roofline',
  'time_over_roofline_ci_low',
  'time_over_roofline_ci_high',
  'time_ratio',
  'time_ratio_ci_low',
  'time_ratio_ci_high',
  'bytes_ratio',
  'intensity',
  'ridge_intensity',
  'below_ridge',
  'kv_bytes_per_token',
  'kv_bytes_over_formula',
  'time_growth',
  'time_growth_ci_low',
  'time_growth_ci_high',
  'bytes_growth',
  'bound_growth',
  'time_growth_over_bound_growth',
  'time_growth_over_bound_growth_ci_low',
  'time_growth_over_bound_growth_ci_high',
  'per_byte_growth',
  'per_byte_growth_ci_low',
  'per_byte_growth_ci_high',
  'n_from',
  'n_to',
] as const;
export const DESIGN_COLUMNS = [
  'name',
  'design',
  'layers',
  'kv_numbers_per_token_layer',
  'bytes_per_token_layer_fp16',
  'bytes_per_token_layer_int8',
  'bytes_per_token_fp16',
  'bytes_per_token_int8',
  'n',
  'tokens_read',
  'bytes_read_fp16',
  'bytes_read_int8',
  'source',
] as const;
export const ROOFLINE_COLUMNS = [
  'kind',
  'machine',
  'intensity',
  'attainable_flops',
  'variant',
  'kernel',
  'kv_dtype',
  'b',
  'n',
] as const;

export interface Hardware {
  name: string;
  bandwidth: number;
  peak_flops: number;
  /** Bytes per number the decode steps are placed with on this machine's roofline. */
  dtype_bytes: number;
}

/** A published model's attention (settings.designs). */
export interface Design {
  name: string;
  design: 'mha' | 'gqa' | 'mla';
  layers: number;
  heads: number;
  kv_heads?: number | undefined;
  head_dim?: number | undefined;
  d_latent?: number | undefined;
  d_rope?: number | undefined;
  window?: number | undefined;
  source: string;
}

const blank = (cols: readonly string[]): Row => Object.fromEntries(cols.map((c) => [c, null]));
const range = (xs: number[]) =>
  Math.min(...xs).toFixed(2) === Math.max(...xs).toFixed(2)
    ? `${xs[0]!.toFixed(2)}×`
    : `${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}×`;
const mib = (bytes: number) =>
  bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(2)} GiB`
    : bytes >= 2 ** 20
      ? `${(bytes / 2 ** 20).toFixed(0)} MiB`
      : `${(bytes / 1024).toFixed(1)} KiB`;
/** A plain step: no window, no latent. */
const plain = (r: MhaVsMqaRow) => r.window === null && r.variant !== 'mla';
const timed = (r: MhaVsMqaRow): r is MhaVsMqaRow & { time_ms: number } => r.time_ms !== null;

/** KV numbers per token and layer of a design, and the tokens a step reads at n. */
export function designRow(x: Design, n: number): Row {
  const numbers =
    x.design === 'mla'
      ? (x.d_latent ?? 0) + (x.d_rope ?? 0)
      : 2 * (x.design === 'mha' ? x.heads : (x.kv_heads ?? x.heads)) * (x.head_dim ?? 0);
  const tokens = Math.min(n, x.window ?? n);
  return {
    ...blank(DESIGN_COLUMNS),
    name: x.name,
    design: x.window ? `${x.design} + window ${x.window}` : x.design,
    layers: x.layers,
    kv_numbers_per_token_layer: numbers,
    bytes_per_token_layer_fp16: 2 * numbers,
    bytes_per_token_layer_int8: numbers,
    bytes_per_token_fp16: 2 * numbers * x.layers,
    bytes_per_token_int8: numbers * x.layers,
    n,
    tokens_read: tokens,
    bytes_read_fp16: 2 * numbers * x.layers * tokens,
    bytes_read_int8: numbers * x.layers * tokens,
    source: x.source,
  };
}

/** A time with its interval (the rounds' bootstrap; the median alone where a row has none). */
const timing = (r: MhaVsMqaRow): Estimate => ({
  value: r.time_ms!,
  low: r.time_ci_low ?? r.time_ms!,
  high: r.time_ci_high ?? r.time_ms!,
});

/** A row's samples in its timing rounds (null where it has no round sizes: one round, or not timed). */
const roundsOf = (r: MhaVsMqaRow): number[][] | null => {
  if (!r.time_round_sizes || !r.time_samples_ms) return null;
  let at = 0;
  return r.time_round_sizes.map((size) => r.time_samples_ms!.slice(at, (at += size)));
};

/**
 * a's time ÷ b's: where both were timed in the same rounds, the interval pairs them by round (a paired bootstrapRatio:
 * a slow spell over one round slows both), else it comes from their two intervals (ratioOf). Seeded: the same samples
 * give the same interval.
 */
const timeRatio = (a: MhaVsMqaRow, b: MhaVsMqaRow): Estimate => {
  const [ra, rb] = [roundsOf(a), roundsOf(b)];
  if (!ra || !rb || ra.length !== rb.length || ra.length < 2) return ratioOf(timing(a), timing(b));
  const value = a.time_ms! / b.time_ms!;
  const { low, high } = bootstrapRatio(rb, ra, seedrandom('attnlab-paired-rounds'), 1000, 0.95, true);
  return { value, low: Math.min(low, value), high: Math.max(high, value) };
};

/** An estimate over a constant: a time over its bound, a time ratio over the bytes' ratio. */
const over = (x: Estimate, c: number): Estimate => ({ value: x.value / c, low: x.low / c, high: x.high / c });

/** The row's interval columns for `name` from an interval. */
const withInterval = (name: string, x: Estimate): Row => ({
  [name]: x.value,
  [`${name}_ci_low`]: x.low,
  [`${name}_ci_high`]: x.high,
});

const shapeKey = (r: MhaVsMqaRow) => `${r.variant}|${r.b}|${r.d}|${r.h}|${r.n}|${r.d_latent}|${r.d_rope}`;
const kernelRow = (kind: string, r: MhaVsMqaRow): Row => ({
  ...blank(KERNEL_COLUMNS),
  kind,
  variant: r.variant,
  kernel: r.kernel,
  kv_dtype: r.kv_dtype,
  b: r.b,
  d: r.d,
  h: r.h,
  n: r.n,
});

/** Each variant's best kernel (float32, no window) against bytes ÷ bandwidth, with the interval of that ratio. */
function bestKernels(rows: readonly MhaVsMqaRow[]): Row[] {
  const best = new Map<string, MhaVsMqaRow>();
  for (const r of rows) {
    if (r.window !== null || r.kv_dtype !== 'float32' || r.time_over_bound === null) continue;
    const have = best.get(shapeKey(r));
    if (!have || r.time_over_bound < have.time_over_bound!) best.set(shapeKey(r), r);
  }
  return [...best.values()].map((r) => {
    // time_over_bound = time ÷ predicted_ms: the bound is analytic, so the interval is the time's.
    const scale = r.time_over_bound! / r.time_ms!;
    const t = timing(r);
    return {
      ...kernelRow('best-kernel', r),
      best_kernel: r.kernel,
      ...withInterval('time_over_bound', { value: r.time_over_bound!, low: t.low * scale, high: t.high * scale }),
    };
  });
}

/**
 * Time per byte moved, from the smallest n ≥ 8192 (where the cache is most of the bytes) to the largest, per variant
 * × kernel × b (float32, no window): 1 where the step streams its bytes at a rate that does not depend on n.
 */
function perByteGrowth(rows: readonly MhaVsMqaRow[]): Row[] {
  const groups = new Map<string, MhaVsMqaRow[]>();
  for (const r of rows) {
    if (!plain(r) || r.kv_dtype !== 'float32' || !timed(r) || r.n < 8192) continue;
    const key = `${r.variant}|${r.kernel}|${r.b}|${r.d}|${r.h}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].flatMap((g) => {
    if (g.length < 2) return [];
    g.sort((a, c) => a.n - c.n);
    const [first, last] = [g[0]!, g[g.length - 1]!];
    return [
      {
        ...kernelRow('per-byte', last),
        ...withInterval('per_byte_growth', over(timeRatio(last, first), last.bytes_total / first.bytes_total)),
        bytes_growth: last.bytes_total / first.bytes_total,
        n_from: first.n,
        n_to: last.n,
      },
    ];
  });
}

/**
 * Each cache type against float32 on the same kernel, variant and shape, with the quantized step's arithmetic
 * intensity (its dequantization counted) against this machine's ridge point (peak ÷ bandwidth): below it a step is
 * memory-bound, and fewer bytes are less time; MQA's int8 step, its cache 16× smaller but dequantized for each of
 * 16 heads, passes the ridge.
 */
function dtypeRatios(rows: readonly MhaVsMqaRow[], machine: { bandwidth: number; peak_flops: number }): Row[] {
  const f32 = new Map<string, MhaVsMqaRow>();
  for (const r of rows) if (plain(r) && r.kv_dtype === 'float32' && timed(r)) f32.set(`${r.kernel}|${shapeKey(r)}`, r);
  const ridge = machine.peak_flops / machine.bandwidth;
  return rows.flatMap((r) => {
    if (!plain(r) || r.kv_dtype === 'float32' || !timed(r)) return [];
    const base = f32.get(`${r.kernel}|${shapeKey(r)}`);
    if (!base) return [];
    // A quantized cache is dequantized as the kernel reads it, once per query head: 2 operations (convert, scale)
    // for each of the 2·b·t·k numbers of K and V per head, 4·b·t·d in all, on top of the step's FLOPs.
    const dequant = r.kv_dtype === 'int8' || r.kv_dtype === 'int4' ? 4 * r.b * r.tokens_read * r.d : 0;
    const intensity = (r.flops + dequant) / r.bytes_total;
    return [
      {
        ...kernelRow('dtype', r),
        ...withInterval('time_ratio', timeRatio(r, base)),
        bytes_ratio: r.bytes_total / base.bytes_total,
        intensity,
        ridge_intensity: Number.isFinite(ridge) ? ridge : null,
        below_ridge: intensity < ridge,
        kv_bytes_per_token: r.kv_bytes_per_token,
      },
    ];
  });
}

/**
 * MLA: the cache read against b·n·(d_latent + d_rope)·bytes per number, time against its roofline bound (per point),
 * and time growing from n = 8192 to the largest n beside the bound's growth.
 */
function mlaRows(rows: readonly MhaVsMqaRow[], machine: { bandwidth: number; peak_flops: number }): Row[] {
  const out: Row[] = [];
  const groups = new Map<string, MhaVsMqaRow[]>();
  const roof = (r: MhaVsMqaRow) => Math.max(r.bytes_total / machine.bandwidth, r.flops / machine.peak_flops) * 1e3;
  for (const r of rows) {
    if (r.variant !== 'mla') continue;
    const formula = r.b * r.tokens_read * (r.d_latent! + r.d_rope!) * KV_DTYPE_BYTES[r.kv_dtype as KvDtype];
    // Time ÷ the roofline bound in ms, max(bytes ÷ bandwidth, FLOPs ÷ peak): the bound is analytic, so the interval
    // is the time's.
    const t = timed(r) ? timing(r) : null;
    out.push({
      ...kernelRow('mla', r),
      kv_bytes_per_token: r.kv_bytes_per_token,
      kv_bytes_over_formula: r.bytes_kv_read / formula,
      time_over_bound: r.time_over_bound,
      intensity: r.intensity,
      ridge_intensity: machine.peak_flops / machine.bandwidth,
      ...(t ? withInterval('time_over_roofline', over(t, roof(r))) : {}),
    });
    if (timed(r) && r.n >= 8192) {
      const key = `${r.b}|${r.d}|${r.h}|${r.d_latent}|${r.d_rope}|${r.dtype_bytes}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g.sort((a, c) => a.n - c.n);
    const [first, last] = [g[0]!, g[g.length - 1]!];
    const time = timeRatio(last, first);
    const bound = roof(last) / roof(first);
    out.push({
      ...kernelRow('mla-growth', last),
      ...withInterval('time_growth', time),
      bytes_growth: last.bytes_total / first.bytes_total,
      bound_growth: bound,
      ...withInterval('time_growth_over_bound_growth', over(time, bound)),
      n_from: first.n,
      n_to: last.n,
    });
  }
  return out;
}

/** Windows: the time at the largest n against the time at the first n ≥ window. */
function windowRows(rows: readonly MhaVsMqaRow[]): Row[] {
  const windows = new Map<string, MhaVsMqaRow[]>();
  for (const r of rows) {
    if (r.window === null || !timed(r) || r.n < r.window) continue;
    const key = `${r.variant}|${r.kernel}|${r.kv_dtype}|${r.b}|${r.d}|${r.h}|${r.window}`;
    windows.set(key, [...(windows.get(key) ?? []), r]);
  }
  return [...windows.values()].flatMap((g) => {
    if (g.length < 2) return [];
    g.sort((a, c) => a.n - c.n);
    const [first, last] = [g[0]!, g[g.length - 1]!];
    return [
      {
        ...kernelRow('window', last),
        window: last.window,
        ...withInterval('time_growth', timeRatio(last, first)),
        bytes_growth: last.bytes_total / first.bytes_total,
        n_from: first.n,
        n_to: last.n,
      },
    ];
  });
}

/**
 * The kernels table: best kernel per variant, time per byte over n, quantized caches against float32, MLA's bytes
 * and growth, windows. `machine` gives the ridge point and the roofline MLA's growth is compared with.
 */
export function kernelTable(
  rows: readonly MhaVsMqaRow[],
  machine: { bandwidth: number; peak_flops: number } = { bandwidth: 1, peak_flops: Infinity },
): Row[] {
  return [
    ...bestKernels(rows),
    ...perByteGrowth(rows),
    ...dtypeRatios(rows, machine),
    ...mlaRows(rows, machine),
    ...windowRows(rows),
  ];
}

/** An MHA/MQA pair at one shape on the graph kernel, float32. */
interface ShapeRatio {
  b: number;
  d: number;
  h: number;
  n: number;
  byteRatio: number;
  time: Estimate | null;
}

/** The ratios table's per-shape rows: KV reads (exactly h), FLOPs (exactly the projections), bytes, time. */
function shapeRatios(rows: readonly MhaVsMqaRow[]): { shapes: ShapeRatio[]; ratios: Row[] } {
  const byShape = new Map<string, Map<string, MhaVsMqaRow>>();
  for (const r of rows) {
    if (r.dtype_bytes !== 4 || r.kernel !== 'graph' || !plain(r)) continue;
    const key = `${r.b}|${r.d}|${r.h}|${r.n}`;
    byShape.set(key, (byShape.get(key) ?? new Map<string, MhaVsMqaRow>()).set(r.variant, r));
  }
  const shapes: ShapeRatio[] = [];
  const ratios: Row[] = [];
  for (const variants of byShape.values()) {
    const [mha, mqa] = [variants.get('mha'), variants.get('mqa')];
    if (!mha || !mqa) continue;
    const { b, d, h, n } = mha;
    const kvRatio = mha.bytes_kv_read / mqa.bytes_kv_read;
    const flopsDiff = mha.flops - mqa.flops;
    // Only the K and V projections differ: 2 products of b×d by d×(h−1)·k, at 2 FLOPs per multiply-add.
    const projection = 2 * 2 * b * d * (h - 1) * (d / h);
    const time = timed(mha) && timed(mqa) ? timeRatio(mha, mqa) : null;
    const byteRatio = mha.bytes_total / mqa.bytes_total;
    shapes.push({ b, d, h, n, byteRatio, time });
    ratios.push({
      ...blank(RATIO_COLUMNS),
      kind: 'shape',
      ...{ b, d, h, n },
      kv_read_ratio: kvRatio,
      kv_read_ratio_over_h: kvRatio / h,
      flops_diff: flopsDiff,
      flops_diff_over_projection: flopsDiff / projection,
      byte_ratio: byteRatio,
      ...(time ? withInterval('time_ratio', time) : {}),
    });
  }
  return { shapes, ratios };
}

/** MHA/MQA time ratio at the largest n over the smallest, per b × d × h: the growth the ratio claim reads. */
function ratioGrowth(shapes: readonly ShapeRatio[]): { groups: (ShapeRatio & { time: Estimate })[][]; rows: Row[] } {
  const byKey = new Map<string, (ShapeRatio & { time: Estimate })[]>();
  for (const s of shapes) {
    if (s.time === null) continue;
    const key = `${s.b}|${s.d}|${s.h}`;
    byKey.set(key, [...(byKey.get(key) ?? []), { ...s, time: s.time }]);
  }
  const groups = [...byKey.values()].filter((g) => g.length >= 2).map((g) => g.sort((a, c) => a.n - c.n));
  const rows = groups.map((g) => {
    const [first, last] = [g[0]!, g[g.length - 1]!];
    return {
      ...blank(RATIO_COLUMNS),
      kind: 'largest-n',
      ...{ b: last.b, d: last.d, h: last.h, n: last.n },
      byte_ratio: last.byteRatio,
      ...withInterval('time_ratio', last.time),
      ...withInterval('time_ratio_growth', ratioOf(last.time, first.time)),
      n_from: first.n,
      n_to: last.n,
    };
  });
  return { groups, rows };
}

/** Summary lines and a finding: each kernel's and variant's time ÷ (bytes ÷ bandwidth) at b = 1, n ≥ 8192. */
function boundLines(rows: readonly MhaVsMqaRow[], kernels: readonly Row[]): { summary: string[]; finding?: string } {
  const summary: string[] = [];
  const bound: string[] = [];
  for (const kernel of ['graph', 'gqa-op']) {
    const parts: string[] = [];
    for (const variant of ['mha', 'gqa', 'mqa', 'mla']) {
      const ratio = rows.flatMap((r) =>
        r.variant === variant && r.kernel === kernel && r.b === 1 && r.n >= 8192 && r.window === null
          ? r.kv_dtype === 'float32' && r.time_over_bound !== null
            ? [r.time_over_bound]
            : []
          : [],
      );
      if (!ratio.length) continue;
      summary.push(
        `${variant} on ${kernel} at b=1, n ≥ 8192: measured ÷ (bytes ÷ measured bandwidth) = ${Math.min(...ratio).toFixed(2)} … ${Math.max(...ratio).toFixed(2)} over ${ratio.length} shapes`,
      );
      parts.push(`${variant.toUpperCase()} ${range(ratio)}`);
    }
    if (parts.length) bound.push(`on ${kernel} ${parts.join(', ')}`);
  }
  if (!bound.length) return { summary };
  // MHA's figure over the rows decode-near-bandwidth reads: n ≥ 32768, where the call's fixed cost is amortized.
  const best = kernels.filter((r) => r['kind'] === 'best-kernel' && r['b'] === 1 && (r['n'] as number) >= 32768);
  const mha = best.filter((r) => r['variant'] === 'mha').map((r) => r['time_over_bound'] as number);
  return {
    summary,
    finding: `At b = 1, n ≥ 8192, float32, time ÷ (bytes ÷ measured bandwidth): ${bound.join('; ')}${mha.length ? `; MHA's best kernel within ${Math.max(...mha).toFixed(2)}× at n ≥ 32768` : ''} (gqa-op's bytes include ONNX Runtime's copy of the cache).`,
  };
}

/**
 * Where the engine's kernels fall short of the physics, as a finding with its reason (not a failing claim): GQA's
 * and MQA's best kernels against bytes ÷ bandwidth, and the quantized caches whose step passes the ridge point.
 */
function shortfallFinding(kernels: readonly Row[]): string | null {
  const best = kernels.filter(
    (r) => r['kind'] === 'best-kernel' && r['b'] === 1 && (r['n'] as number) >= 8192 && r['variant'] !== 'mla',
  );
  const of = (v: string) => best.filter((r) => r['variant'] === v).map((r) => r['time_over_bound'] as number);
  const [gqa, mqa] = [of('gqa'), of('mqa')];
  const above = kernels.filter(
    (r) => r['kind'] === 'dtype' && r['below_ridge'] === false && String(r['kv_dtype']).startsWith('int'),
  );
  if (!gqa.length && !mqa.length && !above.length) return null;
  const kernelsPart =
    gqa.length || mqa.length
      ? `The best GQA kernel takes ${gqa.length ? range(gqa) : '–'} and the best MQA kernel ${mqa.length ? range(mqa) : '–'} of bytes ÷ bandwidth (b = 1, n ≥ 8192), short of the bound: MLAS repacks the cache for every small-M product, and GroupQueryAttention streams a group's cache once per query head`
      : '';
  const ridgePart = above.length
    ? `${kernelsPart ? '; ' : ''}${[...new Set(above.map((r) => `${r['variant']} ${r['kv_dtype']}`))].join(', ')} step${above.length > 1 ? 's' : ''} at ${range(above.map((r) => r['intensity'] as number)).replace('×', '')} FLOP/B pass${above.length > 1 ? '' : 'es'} the ridge point (${(above[0]!['ridge_intensity'] as number).toFixed(1)} FLOP/B): dequantizing per query head makes them compute-bound (time ÷ float32 ${range(above.map((r) => r['time_ratio'] as number))})`
    : '';
  return `${kernelsPart}${ridgePart} (roofline chart).`;
}

/** Quantized and float16 caches against float32, at the largest n, on the same kernel. */
function dtypeFinding(kernels: readonly Row[]): string | null {
  const dtypeRows = kernels.filter((r) => r['kind'] === 'dtype');
  if (!dtypeRows.length) return null;
  const nMax = Math.max(...dtypeRows.map((r) => r['n'] as number));
  const parts: string[] = [];
  for (const dtype of ['int8', 'int4', 'float16']) {
    const at = dtypeRows.filter((r) => r['kv_dtype'] === dtype && r['n'] === nMax);
    if (!at.length) continue;
    parts.push(
      `${dtype} ${range(at.map((r) => r['time_ratio'] as number))} (bytes ${range(at.map((r) => r['bytes_ratio'] as number))})`,
    );
  }
  return `At n = ${nMax}, a step's time with each cache type ÷ its time with float32 (same kernel and variant): ${parts.join(', ')}.`;
}

/** MLA: bytes per token, intensity against this machine's ridge point, and where its time sits between the bounds. */
function mlaFinding(
  rows: readonly MhaVsMqaRow[],
  kernels: readonly Row[],
  machine: Hardware | undefined,
): string | null {
  const mlaRow = rows.find((r) => r.variant === 'mla');
  if (!mlaRow || !machine) return null;
  const { bandwidth, peak_flops: peak } = machine;
  const ridge = peak / bandwidth;
  const [dc, dr, s] = [mlaRow.d_latent!, mlaRow.d_rope!, mlaRow.dtype_bytes];
  const intensity = mlaAsymptoticIntensity(mlaRow.h, dc, dr, s);
  const hStar = mlaRidgeHeads(ridge, dc, dr, s);
  const mha = decodeCost({ b: 1, n: 1, d: mlaRow.d, h: mlaRow.h, g: mlaRow.h, s }).kvBytesPerToken;
  const mqa = decodeCost({ b: 1, n: 1, d: mlaRow.d, h: mlaRow.h, g: 1, s }).kvBytesPerToken;
  const growth = kernels.find((r) => r['kind'] === 'mla-growth');
  const largest = rows
    .filter((r) => r.variant === 'mla' && r.time_ms !== null && r.window === null)
    .sort((a, c) => c.n - a.n)[0];
  // The claim's row (mla-time-at-roofline): time ÷ the larger of the two bounds.
  const atRoof = largest && kernels.find((r) => r['kind'] === 'mla' && r['n'] === largest.n);
  const bounds = largest
    ? `; at n = ${largest.n} it took ${(largest.time_ms! / ((largest.bytes_total / bandwidth) * 1e3)).toFixed(1)}× its bytes ÷ bandwidth and ${(largest.time_ms! / ((largest.flops / peak) * 1e3)).toFixed(1)}× its FLOPs ÷ peak${atRoof ? ` (${(atRoof['time_over_roofline'] as number).toFixed(2)}× its roofline bound, the larger)` : ''}`
    : '';
  const grew = growth
    ? `; n = ${growth['n_from']} → ${growth['n_to']}: time ${(growth['time_growth'] as number).toFixed(2)}×, bytes ${(growth['bytes_growth'] as number).toFixed(2)}×, roofline bound ${(growth['bound_growth'] as number).toFixed(2)}×`
    : '';
  return `MLA (${dc} + ${dr}) caches ${mlaRow.kv_bytes_per_token} B a token and layer against MHA's ${mha} B and MQA's ${mqa} B (d = ${mlaRow.d}, h = ${mlaRow.h}) for ${((2 * (dc + dr) + 2 * dc) / (4 * (mlaRow.d / mlaRow.h))).toFixed(1)}× MQA's attention FLOPs: its intensity tends to ${intensity.toFixed(1)} FLOP/B, past this machine's ridge point (${ridge.toFixed(1)} FLOP/B) from h ≈ ${hStar.toFixed(0)}${bounds}${grew}.`;
}

/** Windows, published designs and the MHA/MQA growth, one sentence each. */
function otherFindings(
  kernels: readonly Row[],
  designs: readonly Row[],
  published: { n: number },
  growth: { groups: (ShapeRatio & { time: Estimate })[][]; kv: number },
): string[] {
  const out: string[] = [];
  const windows = kernels.filter((r) => r['kind'] === 'window');
  if (windows.length) {
    const w = windows[0]!;
    out.push(
      `With a window of ${w['window']} tokens the bytes a step moves stop growing at n = ${w['n_from']} (${range(windows.map((r) => r['bytes_growth'] as number))} from there to n = ${w['n_to']}); its time changed ${range(windows.map((r) => r['time_growth'] as number))} over ${windows.length} variant × kernel pairs.`,
    );
  }
  if (designs.length) {
    const sorted = [...designs].sort((a, c) => (a['bytes_read_fp16'] as number) - (c['bytes_read_fp16'] as number));
    const least = sorted[0]!;
    out.push(
      `Published models at n = ${published.n} (fp16 cache, all layers, one sequence): ${sorted.map((x) => `${x['name']} reads ${mib(x['bytes_read_fp16'] as number)}`).join(', ')}; ${least['name']} (${least['design']}) reads least${sorted[1] ? `, ${((sorted[1]['bytes_read_fp16'] as number) / (least['bytes_read_fp16'] as number)).toFixed(1)}× less than ${sorted[1]['name']}` : ''}.`,
    );
  }
  const b1 = growth.groups.filter((g) => g[0]!.b === 1).sort((x, y) => y[0]!.d - x[0]!.d)[0];
  if (b1) {
    const last = b1[b1.length - 1]!;
    // Every n, as the ratios table has it (mqa-step-faster reads the rows at n ≥ 8192).
    const perN = b1.map((s) => `${s.time.value.toFixed(2)}× at n = ${s.n} (bytes ${s.byteRatio.toFixed(2)}×)`);
    out.push(
      `At b = 1, d = ${last.d}, h = ${last.h} on the graph kernel, an MHA step takes ${perN.join(', ')} as long as an MQA step, which reads exactly h times less cache (all ${growth.kv} shapes); where the time ratio stays below the bytes ratio, MQA's kernel falls short of its bound.`,
    );
  }
  return out;
}

/** Roofline curves per machine, the decode steps at roofline.n placed on them, and this machine's measured steps. */
function rooflineRows(
  rows: readonly MhaVsMqaRow[],
  machines: readonly Hardware[],
  roofline: { n: number; d: number; h: number; bs: readonly number[] },
): Row[] {
  const roof: Row[] = [];
  for (const m of machines) {
    for (let e = -2; e <= 4; e += 0.25) {
      const i = 10 ** e;
      roof.push({
        ...blank(ROOFLINE_COLUMNS),
        ...{ kind: 'curve', machine: m.name, intensity: i, attainable_flops: Math.min(m.peak_flops, m.bandwidth * i) },
      });
    }
    for (const b of roofline.bs) {
      for (const [variant, g] of [
        ['mha', roofline.h],
        ['gqa', Math.max(1, roofline.h / 4)],
        ['mqa', 1],
      ] as const) {
        const c = decodeCost({ b, n: roofline.n, d: roofline.d, h: roofline.h, g, s: m.dtype_bytes });
        roof.push({
          ...blank(ROOFLINE_COLUMNS),
          ...{ kind: 'decode', machine: m.name, intensity: c.intensity, variant, b, n: roofline.n },
          attainable_flops: Math.min(m.peak_flops, m.bandwidth * c.intensity),
        });
      }
    }
  }
  // What this machine's kernels reached at the largest n (b = 1, no window): FLOPs ÷ time at their intensity, so
  // the gap to the curve is each kernel's shortfall.
  const here = machines[0];
  const nMax = Math.max(0, ...rows.filter((r) => r.b === 1 && timed(r)).map((r) => r.n));
  for (const r of rows)
    if (here && r.b === 1 && r.n === nMax && r.window === null && timed(r) && r.variant !== 'mla')
      roof.push({
        ...blank(ROOFLINE_COLUMNS),
        ...{ kind: 'measured', machine: here.name, intensity: r.flops / r.bytes_total, variant: r.variant },
        ...{ kernel: r.kernel, kv_dtype: r.kv_dtype, b: r.b, n: r.n, attainable_flops: r.flops / (r.time_ms / 1e3) },
      });
  return roof;
}

export function analyseMhaVsMqa(
  rows: readonly MhaVsMqaRow[],
  machines: readonly Hardware[],
  roofline: { n: number; d: number; h: number; bs: readonly number[] },
  published: { designs: readonly Design[]; n: number } = { designs: [], n: 32768 },
): Analysis {
  const { shapes, ratios } = shapeRatios(rows);
  const growth = ratioGrowth(shapes);
  const kernels = kernelTable(rows, machines[0]);
  const designs = published.designs.map((x) => designRow(x, published.n));
  const bound = boundLines(rows, kernels);
  const summary = [
    ...growth.groups.map((g) => {
      const [first, last] = [g[0]!, g[g.length - 1]!];
      return `b=${last.b} d=${last.d} h=${last.h}: MHA/MQA time ${last.time.value.toFixed(2)}× at n=${last.n} (bytes ${last.byteRatio.toFixed(2)}×), ${first.time.value.toFixed(2)}× at n=${first.n} (bytes ${first.byteRatio.toFixed(2)}×)`;
    }),
    ...bound.summary,
  ];
  const kv = ratios.filter((r) => r['kind'] === 'shape' && typeof r['kv_read_ratio_over_h'] === 'number').length;
  const findings = [
    bound.finding ?? null,
    shortfallFinding(kernels),
    dtypeFinding(kernels),
    mlaFinding(rows, kernels, machines[0]),
    ...otherFindings(kernels, designs, published, { groups: growth.groups, kv }),
  ].filter((f): f is string => f !== null);
  return {
    tables: {
      ratios: { columns: RATIO_COLUMNS, rows: [...ratios, ...growth.rows] },
      kernels: { columns: KERNEL_COLUMNS, rows: kernels },
      designs: { columns: DESIGN_COLUMNS, rows: designs },
      roofline: { columns: ROOFLINE_COLUMNS, rows: rooflineRows(rows, machines, roofline) },
    },
    summary,
    findings,
  };
}
