/** A Hugging Face tokenizer's files, read for attention-maps' `text` probe (src/sim reads no files itself). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** tokenizer.json, with tokenizer_config.json beside it where there is one (it names the special tokens; else {}). */
export function readTokenizerFiles(file: string): { json: object; config: object } {
  const json = JSON.parse(readFileSync(file, 'utf8')) as object;
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as object) : {};
  return { json, config };
}
