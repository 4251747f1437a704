/**
 * Peak memory of one call on the onnx engine, measured, not predicted: a probe child process (memory-probe.mjs)
 * runs the call on inputs of the same shapes with the same session options, less the CPU memory arena (which would
 * keep the buffers of earlier calls). Writing 5 to /proc/self/clear_refs
 * resets the process's peak resident size (VmHWM) to its current one (VmRSS); VmHWM after the call less VmRSS
 * before it is the most the call held at once: its intermediates and its output (the inputs were resident before).
 * The probe runs with glibc's mmap threshold fixed at 16 KiB, so freed buffers leave the process and cannot be
 * reused unseen. The first call of each kind of graph (see `peak`) also makes one-time allocations, so where small
 * it is read on a second call. Where /proc/self/clear_refs is missing (macOS, Windows), there is no probe and
 * `peak_bytes` is left empty.
 */
import { msg } from '../../messages.js';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';

const PROBE = new URL('./memory-probe.mjs', import.meta.url);

export interface MemoryProbe {
  /**
   * Peak resident bytes of one call of `model` with float32 inputs of these shapes. `kind` names what the model
   * computes (a method, the decode step, a model file): the first call of each kind is measured twice where small.
   */
  peak(model: Uint8Array | string, feeds: Record<string, readonly number[]>, kind: string): Promise<number>;
  close(): void;
}

const canProbeMemory = (): boolean => process.platform === 'linux' && existsSync('/proc/self/clear_refs');

/** Start the probe process (once per run); null where the peak cannot be read. */
export function memoryProbe(options: Ort.InferenceSession.SessionOptions): MemoryProbe | null {
  if (!canProbeMemory()) return null;
  let child: ChildProcess | undefined;
  let next = 0;
  const pending = new Map<number, { resolve: (b: number) => void; reject: (e: Error) => void }>();
  const start = () => {
    const c = fork(PROBE, [], {
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=16384' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: ['--expose-gc'],
      serialization: 'advanced',
    });
    c.on('message', (m: { id: number; bytes?: number; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.bytes!);
    });
    c.on('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(msg.memoryProbeExited(code)));
      pending.clear();
      child = undefined;
    });
    return c;
  };
  return {
    peak: (model, feeds, kind) =>
      new Promise((resolve, reject) => {
        child ??= start();
        const id = next++;
        pending.set(id, { resolve, reject });
        child.send({ id, model: typeof model === 'string' ? model : Buffer.from(model), options, feeds, kind });
      }),
    close: () => {
      child?.disconnect();
      child = undefined;
    },
  };
}
