/**
 * Derived tables of mha-vs-mqa: MHA/MQA ratios per shape (bytes, KV reads, FLOPs, time) on the graph kernel, the
 * kernels table (each variant's best kernel against the bandwidth bound, quantized caches against float32, MLA's
 * bytes against its formula, windows' time past the window), the published designs' KV bytes per token, and
 * roofline curves with the decode steps placed on them.
 */
import { decodeCost, KV_DTYPE_BYTES, mlaAsymptoticIntensity, mlaRidgeHeads, type KvDtype } from './cost.js';
import type { DecodeRow } from './rows.js';
import type { Analysis, Row } from '../types.js';

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
  'time_ratio_growth',
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
  'time_ratio',
  'bytes_ratio',
  'kv_bytes_per_token',
  'kv_bytes_over_formula',
  'time_growth',
  'bytes_growth',
  'bound_growth',
  'time_growth_over_bound_growth',
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
export const ROOFLINE_COLUMNS = ['kind', 'machine', 'intensity', 'attainable_flops', 'variant', 'b', 'n'] as const;

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
const plain = (r: DecodeRow) => r.window === null && r.variant !== 'mla';
const timed = (r: DecodeRow): r is DecodeRow & { time_ms: number } => r.time_ms !== null;

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

/**
 * The kernels table: best kernel per variant, quantized caches against float32, MLA's bytes and growth, windows.
 * `machine` gives the roofline MLA's growth is compared with: max(bytes ÷ bandwidth, FLOPs ÷ peak).
 */
export function kernelTable(
  rows: readonly DecodeRow[],
  machine: { bandwidth: number; peak_flops: number } = { bandwidth: 1, peak_flops: Infinity },
): Row[] {
  const out: Row[] = [];
  const shape = (r: DecodeRow) => `${r.variant}|${r.b}|${r.d}|${r.h}|${r.n}|${r.d_latent}|${r.d_rope}`;
  // Each variant's best kernel (float32, no window) against bytes ÷ bandwidth.
  const best = new Map<string, DecodeRow>();
  for (const r of rows) {
    if (r.window !== null || r.kv_dtype !== 'float32' || r.time_over_bound === null) continue;
    const key = shape(r);
    const have = best.get(key);
    if (!have || r.time_over_bound < have.time_over_bound!) best.set(key, r);
  }
  for (const r of best.values()) {
    out.push({
      ...blank(KERNEL_COLUMNS),
      kind: 'best-kernel',
      variant: r.variant,
      kernel: r.kernel,
      kv_dtype: r.kv_dtype,
      b: r.b,
      d: r.d,
      h: r.h,
      n: r.n,
      best_kernel: r.kernel,
      time_over_bound: r.time_over_bound,
    });
  }
  // Each cache type against float32 on the same kernel, variant and shape.
  const f32 = new Map<string, DecodeRow>();
  for (const r of rows) if (plain(r) && r.kv_dtype === 'float32' && timed(r)) f32.set(`${r.kernel}|${shape(r)}`, r);
  for (const r of rows) {
    if (!plain(r) || r.kv_dtype === 'float32' || !timed(r)) continue;
    const base = f32.get(`${r.kernel}|${shape(r)}`);
    if (!base) continue;
    out.push({
      ...blank(KERNEL_COLUMNS),
      kind: 'dtype',
      variant: r.variant,
      kernel: r.kernel,
      kv_dtype: r.kv_dtype,
      b: r.b,
      d: r.d,
      h: r.h,
      n: r.n,
      time_ratio: r.time_ms / base.time_ms!,
      bytes_ratio: r.bytes_total / base.bytes_total,
      kv_bytes_per_token: r.kv_bytes_per_token,
    });
  }
  // MLA: the cache read against b·n·(d_latent + d_rope)·bytes per number, and time growing as bytes do from n = 8192.
  const mlaGroups = new Map<string, DecodeRow[]>();
  for (const r of rows) {
    if (r.variant !== 'mla') continue;
    const formula = r.b * r.tokens_read * (r.d_latent! + r.d_rope!) * KV_DTYPE_BYTES[r.kv_dtype as KvDtype];
    out.push({
      ...blank(KERNEL_COLUMNS),
      kind: 'mla',
      variant: 'mla',
      kernel: r.kernel,
      kv_dtype: r.kv_dtype,
      b: r.b,
      d: r.d,
      h: r.h,
      n: r.n,
      kv_bytes_per_token: r.kv_bytes_per_token,
      kv_bytes_over_formula: r.bytes_kv_read / formula,
      time_over_bound: r.time_over_bound,
    });
    if (timed(r) && r.n >= 8192) {
      const key = `${r.b}|${r.d}|${r.h}|${r.d_latent}|${r.d_rope}|${r.dtype_bytes}`;
      mlaGroups.set(key, [...(mlaGroups.get(key) ?? []), r]);
    }
  }
  for (const g of mlaGroups.values()) {
    if (g.length < 2) continue;
    g.sort((a, c) => a.n - c.n);
    const [first, last] = [g[0]!, g[g.length - 1]!];
    const time = last.time_ms! / first.time_ms!;
    const bytes = last.bytes_total / first.bytes_total;
    const roof = (r: DecodeRow) => Math.max(r.bytes_total / machine.bandwidth, r.flops / machine.peak_flops);
    const bound = roof(last) / roof(first);
    out.push({
      ...blank(KERNEL_COLUMNS),
      kind: 'mla-growth',
      variant: 'mla',
      kernel: last.kernel,
      kv_dtype: last.kv_dtype,
      b: last.b,
      d: last.d,
      h: last.h,
      n: last.n,
      time_growth: time,
      bytes_growth: bytes,
      bound_growth: bound,
      time_growth_over_bound_growth: time / bound,
      n_from: first.n,
      n_to: last.n,
    });
  }
  // Windows: the time at the largest n against the time at the first n ≥ window.
  const windows = new Map<string, DecodeRow[]>();
  for (const r of rows) {
    if (r.window === null || !timed(r) || r.n < r.window) continue;
    const key = `${r.variant}|${r.kernel}|${r.kv_dtype}|${r.b}|${r.d}|${r.h}|${r.window}`;
    windows.set(key, [...(windows.get(key) ?? []), r]);
  }
  for (const g of windows.values()) {
    if (g.length < 2) continue;
    g.sort((a, c) => a.n - c.n);
    const [first, last] = [g[0]!, g[g.length - 1]!];
    out.push({
      ...blank(KERNEL_COLUMNS),
      kind: 'window',
      variant: last.variant,
      kernel: last.kernel,
      kv_dtype: last.kv_dtype,
      b: last.b,
      d: last.d,
      h: last.h,
      n: last.n,
      window: last.window,
      time_growth: last.time_ms! / first.time_ms!,
      bytes_growth: last.bytes_total / first.bytes_total,
      n_from: first.n,
      n_to: last.n,
    });
  }
  return out;
}

export function analyseDecode(
  rows: readonly DecodeRow[],
  machines: readonly Hardware[],
  roofline: { n: number; d: number; h: number; bs: readonly number[] },
  published: { designs: readonly Design[]; n: number } = { designs: [], n: 32768 },
): Analysis {
  const shapes: { b: number; d: number; h: number; n: number; byteRatio: number; timeRatio: number | null }[] = [];
  const ratios: Row[] = [];
  const summary: string[] = [];
  const byShape = new Map<string, Map<string, DecodeRow>>();
  for (const r of rows) {
    if (r.dtype_bytes !== 4 || r.kernel !== 'graph' || !plain(r)) continue;
    const key = `${r.b}|${r.d}|${r.h}|${r.n}`;
    byShape.set(key, (byShape.get(key) ?? new Map<string, DecodeRow>()).set(r.variant, r));
  }
  for (const variants of byShape.values()) {
    const mha = variants.get('mha');
    const mqa = variants.get('mqa');
    if (!mha || !mqa) continue;
    const { b, d, h, n } = mha;
    const k = d / h;
    const kvRatio = mha.bytes_kv_read / mqa.bytes_kv_read;
    const flopsDiff = mha.flops - mqa.flops;
    // Only the K and V projections differ: 2 products of b×d by d×(h−1)·k, at 2 FLOPs per multiply-add.
    const projection = 2 * 2 * b * d * (h - 1) * k;
    const timeRatio = mha.time_ms !== null && mqa.time_ms !== null ? mha.time_ms / mqa.time_ms : null;
    const byteRatio = mha.bytes_total / mqa.bytes_total;
    shapes.push({ b, d, h, n, byteRatio, timeRatio });
    ratios.push({
      ...blank(RATIO_COLUMNS),
      kind: 'shape',
      b,
      d,
      h,
      n,
      kv_read_ratio: kvRatio,
      kv_read_ratio_over_h: kvRatio / h,
      flops_diff: flopsDiff,
      flops_diff_over_projection: flopsDiff / projection,
      byte_ratio: byteRatio,
      time_ratio: timeRatio,
    });
  }
  const groups = new Map<
    string,
    { n: number; byteRatio: number; timeRatio: number; b: number; d: number; h: number }[]
  >();
  for (const s of shapes) {
    if (s.timeRatio === null) continue;
    const key = `${s.b}|${s.d}|${s.h}`;
    groups.set(key, [...(groups.get(key) ?? []), { ...s, timeRatio: s.timeRatio }]);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g.sort((a, c) => a.n - c.n);
    const first = g[0]!;
    const last = g[g.length - 1]!;
    const growth = last.timeRatio / first.timeRatio;
    ratios.push({
      ...blank(RATIO_COLUMNS),
      kind: 'largest-n',
      b: last.b,
      d: last.d,
      h: last.h,
      n: last.n,
      byte_ratio: last.byteRatio,
      time_ratio: last.timeRatio,
      time_ratio_growth: growth,
      n_from: first.n,
      n_to: last.n,
    });
    summary.push(
      `b=${last.b} d=${last.d} h=${last.h}: MHA/MQA time ${last.timeRatio.toFixed(2)}× at n=${last.n} (bytes ${last.byteRatio.toFixed(2)}×), up from ${first.timeRatio.toFixed(2)}× at n=${first.n}`,
    );
  }

  const findings: string[] = [];
  const kernels = kernelTable(rows, machines[0]);
  const of = (kind: string) => kernels.filter((r) => r['kind'] === kind);

  // 1. How close each kernel and variant came to bytes ÷ the measured bandwidth: b = 1, n ≥ 8192, float32.
  const bound: string[] = [];
  for (const kernel of ['graph', 'gqa-op']) {
    const parts: string[] = [];
    for (const variant of ['mha', 'gqa', 'mqa', 'mla']) {
      const ratio = rows.flatMap((r) =>
        r.variant === variant &&
        r.kernel === kernel &&
        r.b === 1 &&
        r.n >= 8192 &&
        r.window === null &&
        r.kv_dtype === 'float32' &&
        r.time_over_bound !== null
          ? [r.time_over_bound]
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
  const bestRows = of('best-kernel').filter((r) => r['b'] === 1 && (r['n'] as number) >= 8192);
  if (bound.length) {
    const memoryBound = bestRows.filter((r) => r['variant'] !== 'mla');
    const worst = memoryBound.length ? Math.max(...memoryBound.map((r) => r['time_over_bound'] as number)) : null;
    findings.push(
      `At b = 1, n ≥ 8192, float32, time ÷ (bytes ÷ measured bandwidth): ${bound.join('; ')}${worst !== null ? `; the best kernel of MHA, GQA and MQA within ${worst.toFixed(2)}×` : ''} (gqa-op's bytes include ONNX Runtime's copy of the cache).`,
    );
  }

  // 2. Quantized and float16 caches against float32, at the largest n, on the same kernel.
  const dtypeRows = of('dtype');
  if (dtypeRows.length) {
    const nMax = Math.max(...dtypeRows.map((r) => r['n'] as number));
    const parts: string[] = [];
    for (const dtype of ['int8', 'int4', 'float16']) {
      const at = dtypeRows.filter((r) => r['kv_dtype'] === dtype && r['n'] === nMax);
      if (!at.length) continue;
      parts.push(
        `${dtype} ${range(at.map((r) => r['time_ratio'] as number))} (bytes ${range(at.map((r) => r['bytes_ratio'] as number))})`,
      );
    }
    findings.push(
      `At n = ${nMax}, a step's time with each cache type ÷ its time with float32 (same kernel and variant): ${parts.join(', ')}.`,
    );
  }

  // 3. MLA: bytes per token, intensity against this machine's ridge point, and where its time sits between the bounds.
  const mlaRow = rows.find((r) => r.variant === 'mla');
  if (mlaRow && machines[0]) {
    const { bandwidth, peak_flops: peak } = machines[0];
    const ridge = peak / bandwidth;
    const dc = mlaRow.d_latent!,
      dr = mlaRow.d_rope!,
      s = mlaRow.dtype_bytes;
    const intensity = mlaAsymptoticIntensity(mlaRow.h, dc, dr, s);
    const hStar = mlaRidgeHeads(ridge, dc, dr, s);
    const mha = decodeCost({ b: 1, n: 1, d: mlaRow.d, h: mlaRow.h, g: mlaRow.h, s }).kvBytesPerToken;
    const mqa = decodeCost({ b: 1, n: 1, d: mlaRow.d, h: mlaRow.h, g: 1, s }).kvBytesPerToken;
    const growth = of('mla-growth')[0];
    const largest = rows
      .filter((r) => r.variant === 'mla' && r.time_ms !== null && r.window === null)
      .sort((a, c) => c.n - a.n)[0];
    const bounds = largest
      ? `; at n = ${largest.n} it took ${(largest.time_ms! / ((largest.bytes_total / bandwidth) * 1e3)).toFixed(1)}× its bytes ÷ bandwidth and ${(largest.time_ms! / ((largest.flops / peak) * 1e3)).toFixed(1)}× its FLOPs ÷ peak`
      : '';
    const grew = growth
      ? `; n = ${growth['n_from']} → ${growth['n_to']}: time ${(growth['time_growth'] as number).toFixed(2)}×, bytes ${(growth['bytes_growth'] as number).toFixed(2)}×, roofline bound ${(growth['bound_growth'] as number).toFixed(2)}×`
      : '';
    findings.push(
      `MLA (${dc} + ${dr}) caches ${mlaRow.kv_bytes_per_token} B a token and layer against MHA's ${mha} B and MQA's ${mqa} B (d = ${mlaRow.d}, h = ${mlaRow.h}) for ${((2 * (dc + dr) + 2 * dc) / (4 * (mlaRow.d / mlaRow.h))).toFixed(1)}× MQA's attention FLOPs: its intensity tends to ${intensity.toFixed(1)} FLOP/B, past this machine's ridge point (${ridge.toFixed(1)} FLOP/B) from h ≈ ${hStar.toFixed(0)}${bounds}${grew}.`,
    );
  }

  // 4. Windows.
  const windowRows = of('window');
  if (windowRows.length) {
    const w = windowRows[0]!;
    findings.push(
      `With a window of ${w['window']} tokens the bytes a step moves stop growing at n = ${w['n_from']} (${range(windowRows.map((r) => r['bytes_growth'] as number))} from there to n = ${w['n_to']}); its time changed ${range(windowRows.map((r) => r['time_growth'] as number))} over ${windowRows.length} variant × kernel pairs.`,
    );
  }

  // 5. Published designs at n.
  const designs = published.designs.map((x) => designRow(x, published.n));
  if (designs.length) {
    const sorted = [...designs].sort((a, c) => (a['bytes_read_fp16'] as number) - (c['bytes_read_fp16'] as number));
    const least = sorted[0]!;
    findings.push(
      `Published models at n = ${published.n} (fp16 cache, all layers, one sequence): ${sorted.map((x) => `${x['name']} reads ${mib(x['bytes_read_fp16'] as number)}`).join(', ')}; ${least['name']} (${least['design']}) reads least${sorted[1] ? `, ${((sorted[1]['bytes_read_fp16'] as number) / (least['bytes_read_fp16'] as number)).toFixed(1)}× less than ${sorted[1]['name']}` : ''}.`,
    );
  }

  // 6. The MHA/MQA growth at b = 1 for the widest model, as a sentence.
  const b1 = [...groups.values()].filter((g) => g.length >= 2 && g[0]!.b === 1).sort((x, y) => y[0]!.d - x[0]!.d)[0];
  if (b1) {
    const [first, last] = [b1[0]!, b1[b1.length - 1]!];
    const kv = ratios.filter((r) => r['kind'] === 'shape' && typeof r['kv_read_ratio_over_h'] === 'number');
    findings.push(
      `At b = 1, d = ${last.d}, h = ${last.h} on the graph kernel, an MHA step takes ${last.timeRatio.toFixed(2)}× as long as an MQA step at n = ${last.n} (it moves ${last.byteRatio.toFixed(2)}× the bytes and reads exactly h times MQA's cache at all ${kv.length} shapes), up from ${first.timeRatio.toFixed(2)}× at n = ${first.n}.`,
    );
  }

  const roof: Row[] = [];
  for (const m of machines) {
    for (let e = -2; e <= 4; e += 0.25) {
      const i = 10 ** e;
      roof.push({
        ...blank(ROOFLINE_COLUMNS),
        kind: 'curve',
        machine: m.name,
        intensity: i,
        attainable_flops: Math.min(m.peak_flops, m.bandwidth * i),
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
          kind: 'decode',
          machine: m.name,
          intensity: c.intensity,
          attainable_flops: Math.min(m.peak_flops, m.bandwidth * c.intensity),
          variant,
          b,
          n: roofline.n,
        });
      }
    }
  }
  return {
    tables: {
      ratios: { columns: RATIO_COLUMNS, rows: ratios },
      kernels: { columns: KERNEL_COLUMNS, rows: kernels },
      designs: { columns: DESIGN_COLUMNS, rows: designs },
      roofline: { columns: ROOFLINE_COLUMNS, rows: roof },
    },
    summary,
    findings: findings.slice(0, 6),
  };
}
