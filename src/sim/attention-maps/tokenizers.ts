/**
 * Tokenizers for the `text` probe of attention-maps, from kept libraries that run offline: GPT-2's byte-pair encoding
 * (gpt-tokenizer, its vocabulary inside the package) for models with GPT-2's 50257 tokens, and any Hugging Face
 * `tokenizer.json` (@huggingface/tokenizers, pure JavaScript) the user points to.
 */
import { readTokenizerFiles } from '../../engine/tokenizer-file.js';

export interface TextTokenizer {
  /** What the manifest and the report call it. */
  name: string;
  encode(text: string): number[];
  /** A short label of one token for a map's axis (its text, spaces shown as ·). */
  label(id: number): string;
}

/** The size of GPT-2's vocabulary: a model with it gets GPT-2's tokenizer unless told otherwise. */
export const GPT2_VOCAB = 50257;

const visible = (s: string) => s.replace(/ /g, '·').replace(/\n/g, '⏎');

export async function gpt2Tokenizer(): Promise<TextTokenizer> {
  const { encode, decode } = await import('gpt-tokenizer/encoding/r50k_base');
  return {
    name: 'GPT-2 byte-pair encoding (gpt-tokenizer, r50k_base)',
    encode: (t) => encode(t),
    label: (id) => visible(decode([id])),
  };
}

/** A tokenizer.json (with tokenizer_config.json beside it, where there is one: it names the special tokens). */
export async function jsonTokenizer(file: string): Promise<TextTokenizer> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const { json, config } = readTokenizerFiles(file);
  const tok = new Tokenizer(json, config);
  return {
    name: `${file} (@huggingface/tokenizers)`,
    encode: (t) => tok.encode(t).ids.map(Number),
    label: (id) => visible(tok.id_to_token(id) ?? `#${id}`),
  };
}
