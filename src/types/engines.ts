/**
 * Engines. `onnx` (ONNX Runtime's native kernels) runs the timing experiments' graphs; the tfjs backends run
 * everything, the Monte Carlo experiments' tensor code among it: tensorflow (libtensorflow, optional), wasm (the
 * embedded default: tfjs-wasm with XNNPACK), cpu (plain JavaScript).
 */
export const Backend = { onnx: 'onnx', tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu' } as const;
export type Backend = keyof typeof Backend;
export const BACKENDS = Object.keys(Backend) as Backend[];
export type TfjsBackend = Exclude<Backend, 'onnx'>;
/** The automatic choice of a simulation that does not name its engines: tfjs, fastest first. */
export const TFJS_BACKENDS: readonly TfjsBackend[] = ['tensorflow', 'wasm', 'cpu'];

export function isBackend(name: string): name is Backend {
  return Object.hasOwn(Backend, name);
}

/** What the manifest and report say about the engine that ran. */
export interface EngineInfo {
  name: Backend;
  /** The package that provides it, with its version and, for onnx, execution provider and threads. */
  provider: string;
  version?: string;
  executionProvider?: string;
  threads?: number;
}
