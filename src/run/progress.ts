/** Progress on stderr: a redrawn bar on a terminal, plain lines (about ten per run) elsewhere. */
export class Progress {
  private done = 0;
  private lastLine = 0;
  private readonly start: number;
  private readonly total: number;
  private readonly out: { write(s: string): unknown; isTTY?: boolean };
  private readonly label: string;
  private readonly now: () => number;
  /** Points already done when this process started (a resumed run); the ETA ignores them. */
  private readonly baseline: number;
  /** What is counted: points, or point rounds for a simulation measured in timing rounds. */
  private readonly unit: string;

  /** Predicted ms (the cost model) of what is left to run at the start, and of what has run since. */
  private readonly costTotal: number;
  private costRan = 0;

  constructor(
    total: number,
    out: Progress['out'],
    label: string,
    now: () => number,
    alreadyDone = 0,
    unit = 'points',
    costTotal = 0,
  ) {
    this.costTotal = costTotal;
    this.total = total;
    this.out = out;
    this.label = label;
    this.now = now;
    this.start = now();
    this.done = alreadyDone;
    this.baseline = alreadyDone;
    this.unit = unit;
  }

  /**
   * `count` more done (a failed point counts its rounds still to run), predicted by the cost model to take `costMs`.
   */
  tick(count = 1, costMs = 0): void {
    if (count <= 0) return;
    this.costRan += costMs;
    const before = this.done;
    this.done += count;
    const t = this.now();
    if (this.out.isTTY) {
      if (t - this.lastLine > 100 || this.done === this.total) {
        this.out.write(`\r${this.line(t)}\x1b[K${this.done === this.total ? '\n' : ''}`);
        this.lastLine = t;
      }
    } else if (this.done === this.total || Math.floor(this.done / this.step()) > Math.floor(before / this.step())) {
      this.out.write(`${this.line(t)}\n`);
    }
  }

  /** About ten plain lines per run. */
  private step(): number {
    return Math.max(1, Math.ceil(this.total / 10));
  }

  /**
   * `[#####.....] 12/264 points  3.1s elapsed  ETA 10.2s`. The ETA is the predicted cost of what is left, scaled by
   * measured/predicted so far in this process (points alike in cost when there is no cost model).
   */
  line(t: number): string {
    const frac = this.total ? this.done / this.total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (t - this.start) / 1000;
    const ranHere = this.done - this.baseline;
    const eta =
      this.costTotal > 0 && this.costRan > 0
        ? (elapsed / this.costRan) * Math.max(0, this.costTotal - this.costRan)
        : ranHere > 0
          ? (elapsed / ranHere) * (this.total - this.done)
          : NaN;
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `${this.label} [${bar}] ${this.done}/${this.total} ${this.unit}  ${elapsed.toFixed(1)}s elapsed${Number.isFinite(eta) && this.done < this.total ? `  ETA ${eta.toFixed(1)}s` : ''}`;
  }
}
