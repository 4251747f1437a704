// Worker entry in plain JavaScript: Node 20 does not pass --import loaders on to worker
// threads, so register tsx here (when running from TypeScript sources) and load the worker.
const ts = new URL('./worker.ts', import.meta.url);
const { existsSync } = await import('node:fs');
if (existsSync(ts)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(ts.href);
} else {
  await import(new URL('./worker.js', import.meta.url).href);
}
