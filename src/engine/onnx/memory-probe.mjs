// The memory probe: a child process that runs one call of a model and reports the most resident memory the call
// added (see memory.ts). Plain JavaScript, so it starts without a TypeScript loader. It is started with glibc's
// mmap threshold fixed (GLIBC_TUNABLES), so that every buffer over 16 KiB is its own mapping, returned to the
// system when freed: a later call then cannot reuse memory an earlier one freed without the peak showing it.
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const kib = (status, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
const status = () => readFileSync('/proc/self/status', 'utf8');
/** Calls at most: a reading below the call's own outputs means memory was released during it (V8 returning pages). */
const ATTEMPTS = 3;
/** The first call of a kind that holds less than this is measured on a second call (see below). */
const SMALL = 32 * 1024 * 1024;

/**
 * Collect garbage and wait until the resident size settles: V8 frees the backing stores of dead ArrayBuffers (the
 * previous call's inputs and outputs) on a background thread after a collection, and memory released during the
 * call would lower the resident size below where the measurement started.
 */
async function settle() {
  globalThis.gc?.();
  let last = kib(status(), 'VmRSS');
  for (let i = 0; i < 25; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = kib(status(), 'VmRSS');
    if (Math.abs(now - last) < 64 * 1024) return;
    last = now;
  }
}

/** The kinds of graph this process has run: their one-time allocations are made. */
const seen = new Set();

process.on('message', async ({ id, model, options, feeds, kind }) => {
  try {
    const session = await ort.InferenceSession.create(
      typeof model === 'string' ? model : new Uint8Array(model),
      options,
    );
    const inputs = {};
    for (const [name, dims] of Object.entries(feeds)) {
      // Values do not change what a dense graph allocates: a constant fill is quick even at 1 GiB.
      inputs[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.01), dims);
    }
    // Sessions are made without a memory arena, so every call allocates what the first does. The first call of a
    // kind of graph in this process also makes one-time allocations (kernel tables, thread-local buffers: up to
    // 0.8 MiB here), which would dwarf a small call: there, below SMALL, the reading is a second call's.
    const first = !seen.has(kind);
    seen.add(kind);
    let bytes = 0;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await settle();
      writeFileSync('/proc/self/clear_refs', '5');
      const before = kib(status(), 'VmRSS');
      const out = await session.run(inputs);
      const reading = kib(status(), 'VmHWM') - before;
      // The call held its outputs at the end, so it held at least their bytes: a reading below that means memory was
      // released during the call, and the call is measured again.
      const outputs = Object.values(out).reduce((a, t) => a + t.data.byteLength, 0);
      for (const t of Object.values(out)) t.dispose?.();
      bytes = Math.max(reading, outputs);
      if (reading >= outputs && (attempt > 0 || !first || reading >= SMALL)) break;
    }
    await session.release();
    process.send({ id, bytes });
  } catch (e) {
    process.send({ id, error: String(e?.message ?? e).split('\n')[0] });
  }
});
