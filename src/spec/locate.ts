import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { SourceLocation } from '../errors.js';

export type Path = readonly (string | number)[];

/** Maps a key path in a parsed YAML document to file:line:col. Internal to src/spec. */
export class Locator {
  readonly file: string;
  private readonly doc: Document | undefined;
  private readonly lines: LineCounter | undefined;

  constructor(file: string, doc?: Document, lines?: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
  }

  /** Location of the value at `path`, or of its nearest existing ancestor. `key` points at the key itself. */
  at(path: Path, opts: { key?: string | undefined } = {}): SourceLocation {
    const fallback: SourceLocation = { file: this.file };
    if (!this.doc || !this.lines) return fallback;
    let node: unknown = this.doc.contents;
    let found: Node | undefined = isNode(node) ? node : undefined;
    for (const seg of [...path, ...(opts.key !== undefined ? [opts.key] : [])]) {
      const isLastKey = opts.key !== undefined && seg === opts.key;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (isLastKey && isNode(pair.key)) {
          found = pair.key;
          break;
        }
        node = pair.value;
        if (isNode(node)) found = node;
        else if (isNode(pair.key)) found = pair.key;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (isNode(node)) found = node;
        else break;
      } else break;
    }
    const offset = found?.range?.[0];
    if (offset === undefined) return fallback;
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, col: pos.col };
  }
}

/** `grid.d`, `claims[2].test`: the way a path is written in messages. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(top level)';
}
