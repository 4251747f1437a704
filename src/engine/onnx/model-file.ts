/** A user's model file, read once as bytes (attention-maps edits a copy of its graph in memory, never the file). */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { msg } from '../../messages.js';

export function readModelFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** A file's identity for a cache of opened models: a file replaced in place (a new model, the old name) differs. */
export function fileVersion(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** The first bytes of a file (enough to tell what it is), or null where it cannot be read. */
export function fileStart(path: string, bytes = 512): Uint8Array | null {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = new Uint8Array(bytes);
      return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * What a file that does not parse as ONNX looks like, from its first bytes, for the message that refuses it (the
 * parser's own detail, "invalid wire type 6", says nothing of the usual causes: a Git LFS pointer never pulled, a web
 * page saved by a download, a PyTorch checkpoint, a text file renamed); null where it looks like none of them.
 */
export function describeNonOnnx(start: Uint8Array): string | null {
  if (start.length === 0) return msg.looksEmpty();
  const text = new TextDecoder('utf-8', { fatal: false }).decode(start);
  if (text.startsWith('version https://git-lfs.github.com/spec/')) return msg.looksLfsPointer();
  if (/^\s*<(!doctype html|html|head|body)\b/i.test(text)) return msg.looksHtml();
  if (start[0] === 0x50 && start[1] === 0x4b && start[2] === 0x03 && start[3] === 0x04) return msg.looksZip();
  if (start[0] === 0x80 && start.length > 1 && start[1]! >= 2 && start[1]! <= 5) return msg.looksPickle();
  // Text: no control bytes other than tab, newline, vertical tab, form feed and carriage return, and valid UTF-8.
  const control = start.some((b) => b < 9 || (b > 13 && b < 32));
  if (!control && !text.includes('\ufffd')) return msg.looksText(text.trim().split('\n')[0]!.slice(0, 40));
  return null;
}
