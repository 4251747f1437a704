/**
 * Derived tables of mha-vs-mqa: MHA/MQA ratios per shape (bytes, KV reads, FLOPs, time), the
 * time ratio's growth with n, and roofline curves with the decode steps placed on them.
 */
import { decodeCost } from './cost.js';
import type { DecodeRow } from './rows.js';
import type { Analysis, Row } from '../types.js';

export const RATIO_COLUMNS = [
  'kind', 'b', 'd', 'h', 'n', 'kv_read_ratio', 'kv_read_ratio_over_h', 'flops_diff', 'flops_diff_over_projection',
  'byte_ratio', 'time_ratio', 'time_ratio_growth', 'n_from', 'n_to',
] as const;
export const ROOFLINE_COLUMNS = ['kind', 'machine', 'intensity', 'attainable_flops', 'variant', 'b', 'n'] as const;

export interface Hardware {
  name: string;
  bandwidth: number;
  peak_flops: number;
  /** Bytes per number the decode steps are placed with on this machine's roofline. */
  dtype_bytes: number;
}

const blank = (cols: readonly string[]): Row => Object.fromEntries(cols.map((c) => [c, null]));

export function analyseDecode(rows: readonly DecodeRow[], machines: readonly Hardware[], roofline: { n: number; d: number; h: number; bs: readonly number[] }): Analysis {
  const shapes: { b: number; d: number; h: number; n: number; byteRatio: number; timeRatio: number | null }[] = [];
  const ratios: Row[] = [];
  const summary: string[] = [];
  const byShape = new Map<string, Map<string, DecodeRow>>();
  for (const r of rows) {
    if (r.dtype_bytes !== 4) continue;
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
      ...blank(RATIO_COLUMNS), kind: 'shape', b, d, h, n,
      kv_read_ratio: kvRatio, kv_read_ratio_over_h: kvRatio / h, flops_diff: flopsDiff, flops_diff_over_projection: flopsDiff / projection,
      byte_ratio: byteRatio, time_ratio: timeRatio,
    });
  }
  const groups = new Map<string, { n: number; byteRatio: number; timeRatio: number; b: number; d: number; h: number }[]>();
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
      ...blank(RATIO_COLUMNS), kind: 'largest-n', b: last.b, d: last.d, h: last.h, n: last.n,
      byte_ratio: last.byteRatio, time_ratio: last.timeRatio, time_ratio_growth: growth, n_from: first.n, n_to: last.n,
    });
    summary.push(
      `b=${last.b} d=${last.d} h=${last.h}: MHA/MQA time ${last.timeRatio.toFixed(2)}× at n=${last.n} (bytes ${last.byteRatio.toFixed(2)}×), up from ${first.timeRatio.toFixed(2)}× at n=${first.n}`,
    );
  }

  const findings: string[] = [];
  // The growth at b = 1 for the widest model, as a sentence.
  const b1 = [...groups.values()].filter((g) => g.length >= 2 && g[0]!.b === 1).sort((x, y) => y[0]!.d - x[0]!.d)[0];
  if (b1) {
    const [first, last] = [b1[0]!, b1[b1.length - 1]!];
    findings.push(`At b = 1, d = ${last.d}, h = ${last.h}, an MHA step takes ${last.timeRatio.toFixed(2)}× as long as an MQA step at n = ${last.n} (it moves ${last.byteRatio.toFixed(2)}× the bytes), up from ${first.timeRatio.toFixed(2)}× at n = ${first.n}.`);
  }
  const kv = ratios.filter((r) => r['kind'] === 'shape' && typeof r['kv_read_ratio_over_h'] === 'number');
  if (kv.length) findings.push(`MHA reads exactly h times the KV cache MQA reads at every shape (${kv.length} shapes); their FLOPs differ only by the K and V projections.`);
  const roof: Row[] = [];
  for (const m of machines) {
    for (let e = -2; e <= 4; e += 0.25) {
      const i = 10 ** e;
      roof.push({ ...blank(ROOFLINE_COLUMNS), kind: 'curve', machine: m.name, intensity: i, attainable_flops: Math.min(m.peak_flops, m.bandwidth * i) });
    }
    for (const b of roofline.bs) {
      for (const [variant, g] of [['mha', roofline.h], ['gqa', Math.max(1, roofline.h / 4)], ['mqa', 1]] as const) {
        const c = decodeCost({ b, n: roofline.n, d: roofline.d, h: roofline.h, g, s: m.dtype_bytes });
        roof.push({ ...blank(ROOFLINE_COLUMNS), kind: 'decode', machine: m.name, intensity: c.intensity, attainable_flops: Math.min(m.peak_flops, m.bandwidth * c.intensity), variant, b, n: roofline.n });
      }
    }
  }
  // How close the memory-bound steps came to bytes ÷ the measured bandwidth: b = 1, the largest caches.
  const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]!.toFixed(2)}×` : `${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}×`);
  const bound: string[] = [];
  let boundShapes = 0;
  for (const variant of ['mha', 'gqa', 'mqa']) {
    const ratio = rows.flatMap((r) => (r.variant === variant && r.b === 1 && r.n >= 8192 && r.time_over_bound !== null ? [r.time_over_bound] : []));
    if (!ratio.length) continue;
    summary.push(`${variant} at b=1, n ≥ 8192: measured ÷ (bytes ÷ measured bandwidth) = ${Math.min(...ratio).toFixed(2)} … ${Math.max(...ratio).toFixed(2)} over ${ratio.length} shapes`);
    bound.push(`${range(ratio)} (${variant.toUpperCase()})`);
    boundShapes = Math.max(boundShapes, ratio.length);
  }
  if (bound.length) {
    findings.push(
      `At b = 1 and n ≥ 8192 a step takes ${bound.join(', ')} the time of its bytes ÷ this machine's measured read bandwidth (${boundShapes} shape${boundShapes === 1 ? '' : 's'} each; below 1 where part of the cache still sits in a cache level).`,
    );
  }
  return { tables: { ratios: { columns: RATIO_COLUMNS, rows: ratios }, roofline: { columns: ROOFLINE_COLUMNS, rows: roof } }, summary, findings: findings.slice(0, 6) };
}
