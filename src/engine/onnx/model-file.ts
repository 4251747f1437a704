/** A user's model file, read once as bytes (attention-maps edits a copy of its graph in memory, never the file). */
import { readFileSync } from 'node:fs';

export function readModelFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
