/**
 * Analytic cost of one incremental decoding step: one new token for each of b sequences, a
 * KV cache of n tokens, model width d, h query heads of width k = d/h, g key/value heads
 * (g = h: multi-head; 1 < g < h: grouped-query; g = 1: multi-query), s bytes per number.
 * Every tensor is counted once as it is read or written.
 */
export interface DecodeShape {
  b: number;
  n: number;
  d: number;
  h: number;
  g: number;
  s: number;
}

export interface DecodeCost {
  flops: number;
  /** W_q, W_k, W_v, W_o. */
  bytesWeights: number;
  /** x, q, k, v (new token), o, y. */
  bytesActivations: number;
  bytesKvRead: number;
  bytesKvWrite: number;
  bytesTotal: number;
  /** FLOPs per byte moved. */
  intensity: number;
  /** Size of the cache after the step: K and V for n + 1 tokens. */
  kvCacheBytes: number;
}

export function decodeCost({ b, n, d, h, g, s }: DecodeShape): DecodeCost {
  const k = d / h;
  const kv = g * k; // width of the K (and V) projection
  const projections = 2 * b * d * d /* q */ + 2 * 2 * b * d * kv /* k, v */ + 2 * b * d * d; /* o */
  const attention = 2 * b * h * n * k /* q·K */ + 2 * b * h * n * k; /* weights·V */
  const softmax = 5 * b * h * n; // max, subtract, exp, sum, divide
  const bytesWeights = s * (2 * d * d + 2 * d * kv);
  const bytesActivations = s * b * (4 * d + 2 * kv);
  const bytesKvRead = s * 2 * b * n * kv;
  const bytesKvWrite = s * 2 * b * kv;
  const bytesTotal = bytesWeights + bytesActivations + bytesKvRead + bytesKvWrite;
  const flops = projections + attention + softmax;
  return { flops, bytesWeights, bytesActivations, bytesKvRead, bytesKvWrite, bytesTotal, intensity: flops / bytesTotal, kvCacheBytes: s * 2 * b * (n + 1) * kv };
}
