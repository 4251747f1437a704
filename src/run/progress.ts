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

  constructor(total: number, out: Progress['out'], label: string, now: () => number, alreadyDone = 0) {
    this.total = total;
    this.out = out;
    this.label = label;
    this.now = now;
    this.start = now();
    this.done = alreadyDone;
    this.baseline = alreadyDone;
  }

  tick(): void {
    this.done += 1;
    const t = this.now();
    if (this.out.isTTY) {
      if (t - this.lastLine > 100 || this.done === this.total) {
        this.out.write(`\r${this.line(t)}\x1b[K${this.done === this.total ? '\n' : ''}`);
        this.lastLine = t;
      }
    } else if (this.done === this.total || this.done % Math.max(1, Math.ceil(this.total / 10)) === 0) {
      this.out.write(`${this.line(t)}\n`);
    }
  }

  /** `[#####.....] 12/264 points  3.1s elapsed  ETA 10.2s`; the ETA uses only points run in this process. */
  line(t: number): string {
    const frac = this.total ? this.done / this.total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (t - this.start) / 1000;
    const ranHere = this.done - this.baseline;
    const eta = ranHere > 0 ? (elapsed / ranHere) * (this.total - this.done) : NaN;
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `${this.label} [${bar}] ${this.done}/${this.total} points  ${elapsed.toFixed(1)}s elapsed${Number.isFinite(eta) && this.done < this.total ? `  ETA ${eta.toFixed(1)}s` : ''}`;
  }
}
