/**
 * Fast seeded standard normals: xoshiro128** (32-bit state words, Math.imul)
 * feeding a 128-layer ziggurat (Marsaglia & Tsang 2000). The layer index and
 * the value use disjoint bits of each draw (Doornik's fix for the correlation
 * in the original RNOR), so 24 bits + sign carry the value.
 */

const LAYERS = 128;
const R = 3.442619855899; // start of the right tail
const V = 9.91256303526217e-3; // area of each layer
const SCALE = 2 ** 24; // value bits: signed 25-bit integer in [-2^24, 2^24)

const kn = new Int32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
(() => {
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * SCALE);
  kn[1] = 0;
  wn[0] = q / SCALE;
  wn[LAYERS - 1] = dn / SCALE;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * SCALE);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / SCALE;
  }
})();

/** Four 32-bit state words; never all zero. */
export type RngState = Uint32Array;

/** A normal generator with its own state; `fill` is the hot path. */
export class NormalRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: RngState) {
    if (state.length !== 4) throw new RangeError('xoshiro128 state needs 4 words');
    this.s0 = state[0]! | 0;
    this.s1 = state[1]! | 0;
    this.s2 = state[2]! | 0;
    this.s3 = state[3]! | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 0x9e3779b9 | 0;
  }

  /** Next 32-bit draw as a signed int (xoshiro128**). */
  nextInt32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result | 0;
  }

  /** Uniform in (0, 1), 32 bits of resolution. */
  uniform(): number {
    return ((this.nextInt32() >>> 0) + 0.5) / 4294967296;
  }

  /** One standard normal draw. */
  normal(): number {
    for (;;) {
      const r = this.nextInt32();
      const i = r & 127;
      const hz = r >> 7;
      if (Math.abs(hz) < kn[i]!) return hz * wn[i]!;
      const x = this.tryWedge(hz, i);
      if (x !== null) return x;
    }
  }

  /** A draw that missed the fast rectangle: tail or wedge, retrying with fresh draws. */
  private slow(hz: number, i: number): number {
    const x = this.tryWedge(hz, i);
    return x === null ? this.normal() : x;
  }

  /** Resolve a draw outside the rectangle of layer i; null means rejected. */
  private tryWedge(hz: number, i: number): number | null {
    {
      const x = hz * wn[i]!;
      if (i === 0) {
        // Tail beyond R (Marsaglia's method).
        let xt: number;
        let y: number;
        do {
          xt = -Math.log(this.uniform()) / R;
          y = -Math.log(this.uniform());
        } while (y + y < xt * xt);
        return hz > 0 ? R + xt : -R - xt;
      }
      return fn[i]! + this.uniform() * (fn[i - 1]! - fn[i]!) < Math.exp(-0.5 * x * x) ? x : null;
    }
  }

  /**
   * Fill `out` with standard normals. The generator state lives in locals for
   * the loop (3x faster in V8 than calling normal() per element); the rare
   * slow path goes through normal() after writing the state back.
   */
  fill(out: Float64Array | Float32Array): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const len = out.length;
    for (let j = 0; j < len; j++) {
      const m = Math.imul(s1, 5);
      const r = Math.imul((m << 7) | (m >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const i = r & 127;
      const hz = r >> 7;
      if (Math.abs(hz) < kn[i]!) {
        out[j] = hz * wn[i]!;
      } else {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        out[j] = this.slow(hz, i);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
}
