/**
 * Analytic cost of one incremental decoding step: one new token for each of b sequences, a
 * KV cache of n tokens, model width d, h query heads of width k = d/h, g key/value heads
 * (g = h: multi-head; 1 < g < h: grouped-query; g = 1: multi-query), s bytes per number of
 * weights and activations, sKv bytes per cached number (4 float32, 2 float16, 1 int8, ½ int4).
 * A window W (sliding-window attention, a rolling buffer of W tokens) makes the step read
 * min(n, W) tokens. Every tensor is counted once as it is read or written.
 */
export interface DecodeShape {
  b: number;
  n: number;
  d: number;
  h: number;
  g: number;
  s: number;
  /** Bytes per cached number; @default s */
  sKv?: number;
  /** Scale numbers (float32) read per step for a quantized cache, K and V together; @default 0 */
  scaleNumbers?: number;
  /** Sliding window: tokens the step reads at most; @default unbounded */
  window?: number | undefined;
  /**
   * The engine copies the cache it reads into a fresh one each step (onnxruntime-node's GroupQueryAttention call,
   * see engines.ts): a read and a write of the cache, counted in bytesKvCopy; @default false
   */
  copiesCache?: boolean;
}

export interface DecodeCost {
  flops: number;
  /** W_q, W_k, W_v, W_o (MLA: W_q, W_uk, W_qr, W_dkv, W_kr, W_uv, W_o). */
  bytesWeights: number;
  /** x, q, k, v (new token), o, y. */
  bytesActivations: number;
  /** The cached K and V the step reads (MLA: the latent and the RoPE key). */
  bytesKvRead: number;
  /** The float32 scales of a quantized cache the step reads. */
  bytesKvScales: number;
  bytesKvWrite: number;
  /** The engine's copy of the cache per step (read + write); 0 where the cache is read where it lies. */
  bytesKvCopy: number;
  bytesTotal: number;
  /** FLOPs per byte moved. */
  intensity: number;
  /** Size of the cache after the step: n + 1 tokens (a window: at most W + 1). */
  kvCacheBytes: number;
  /** Bytes one token adds to the cache of one sequence in this layer (scales aside). */
  kvBytesPerToken: number;
  /** Tokens the step reads: min(n, window). */
  tokensRead: number;
}

function total(c: Omit<DecodeCost, 'bytesTotal' | 'intensity'>): DecodeCost {
  const bytesTotal =
    c.bytesWeights + c.bytesActivations + c.bytesKvRead + c.bytesKvScales + c.bytesKvWrite + c.bytesKvCopy;
  return { ...c, bytesTotal, intensity: c.flops / bytesTotal };
}

export function decodeCost({
  b,
  n,
  d,
  h,
  g,
  s,
  sKv = s,
  scaleNumbers = 0,
  window,
  copiesCache = false,
}: DecodeShape): DecodeCost {
  const k = d / h;
  const kv = g * k; // width of the K (and V) projection
  const t = Math.min(n, window ?? n);
  const projections = 2 * b * d * d /* q */ + 2 * 2 * b * d * kv /* k, v */ + 2 * b * d * d; /* o */
  const attention = 2 * b * h * t * k /* q·K */ + 2 * b * h * t * k; /* weights·V */
  const softmax = 5 * b * h * t; // max, subtract, exp, sum, divide
  const cacheRead = sKv * 2 * b * t * kv;
  return total({
    flops: projections + attention + softmax,
    bytesWeights: s * (2 * d * d + 2 * d * kv),
    bytesActivations: s * b * (4 * d + 2 * kv),
    bytesKvRead: cacheRead,
    bytesKvScales: 4 * scaleNumbers,
    bytesKvWrite: sKv * 2 * b * kv,
    bytesKvCopy: copiesCache ? 2 * cacheRead : 0,
    kvCacheBytes: sKv * 2 * b * (t + 1) * kv,
    kvBytesPerToken: sKv * 2 * kv,
    tokensRead: t,
  });
}

/**
 * Multi-head latent attention (DeepSeek-V2) with absorbed projections: per token and layer the cache holds a latent
 * c (dc numbers) and one RoPE key shared by all heads (dr numbers). The step maps each head's query (width k = d/h)
 * into the latent space through W_uk (per head k × dc), scores it against the latent cache plus its RoPE part
 * (x·W_qr, h × dr) against the RoPE keys, takes the weights' sum of latents (per head dc), and maps that through W_uv
 * (per head dc × k) and W_o. The new token's latent x·W_dkv and RoPE key x·W_kr are its cache write.
 */
export interface MlaShape {
  b: number;
  n: number;
  d: number;
  h: number;
  dc: number;
  dr: number;
  s: number;
  /** Bytes per cached number; @default s */
  sKv?: number;
  window?: number | undefined;
}

export function mlaCost({ b, n: all, d, h, dc, dr, s, sKv = s, window }: MlaShape): DecodeCost {
  const k = d / h;
  const n = Math.min(all, window ?? all);
  const projections =
    2 * b * d * d /* q */ +
    2 * b * h * k * dc /* q → latent */ +
    2 * b * d * h * dr /* RoPE query */ +
    2 * b * d * (dc + dr) /* new latent, RoPE key */ +
    2 * b * h * dc * k /* latent → value */ +
    2 * b * d * d; /* o */
  const attention = 2 * b * h * n * (dc + dr) /* scores */ + 2 * b * h * n * dc; /* weights · latents */
  const softmax = 5 * b * h * n;
  return total({
    flops: projections + attention + softmax,
    bytesWeights: s * (d * d + h * k * dc + d * h * dr + d * (dc + dr) + h * dc * k + d * d),
    bytesActivations:
      s *
      b *
      (2 * d /* x, y */ +
        h * k /* q */ +
        h * (dc + dr) /* latent query */ +
        (dc + dr) /* new token */ +
        h * dc +
        h * k) /* o */,
    bytesKvRead: sKv * b * n * (dc + dr),
    bytesKvScales: 0,
    bytesKvWrite: sKv * b * (dc + dr),
    bytesKvCopy: 0,
    kvCacheBytes: sKv * b * (n + 1) * (dc + dr),
    kvBytesPerToken: sKv * (dc + dr),
    tokensRead: n,
  });
}

/**
 * MLA's intensity as n grows (the cache read dominates): FLOPs per cached byte, 2·h·(2·dc + dr) + 5·h over (dc + dr)·s.
 * It crosses a machine's ridge point (peak FLOP/s ÷ bandwidth) at h = ridge·(dc + dr)·s ÷ (4·dc + 2·dr + 5).
 */
export function mlaAsymptoticIntensity(h: number, dc: number, dr: number, s: number): number {
  return (h * (2 * (dc + dr) + 2 * dc + 5)) / ((dc + dr) * s);
}

export function mlaRidgeHeads(ridge: number, dc: number, dr: number, s: number): number {
  return (ridge * (dc + dr) * s) / (4 * dc + 2 * dr + 5);
}

/** Bytes per cached number, and the scales a quantized cache reads, by kv_dtype. */
export const KV_DTYPE_BYTES = { float32: 4, float16: 2, int8: 1, int4: 0.5 } as const;
export type KvDtype = keyof typeof KV_DTYPE_BYTES;

/** Float32 scales read per step for K and V: one each per tensor, or one per (kv head, channel) each. */
export function scaleNumbers(dtype: KvDtype, scales: 'per-tensor' | 'per-channel', g: number, k: number): number {
  if (dtype !== 'int8' && dtype !== 'int4') return 0;
  return scales === 'per-tensor' ? 2 : 2 * g * k;
}
