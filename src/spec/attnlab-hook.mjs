// Module resolution hooks (node:module register) for simulations from the user's files:
// - `import ... from 'attnlab'` anywhere on disk resolves to this checkout's public entry, src/index.ts, so a
//   simulation shares the harness's module instances (the TypeScript loader further down the chain loads it);
// - the simulation module itself (its URL carries the `?sha256=` the loader adds) is an ES module even in a folder
//   whose package.json does not say so, or that has none (where Node would take a .ts or .js file for CommonJS).
// Plain JavaScript: hooks run on Node's loader thread.
let entry;

export function initialize(data) {
  entry = data.entry;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'attnlab') return next(entry, context);
  const resolved = await next(specifier, context);
  return resolved.url.includes('?sha256=') && resolved.format === 'commonjs'
    ? { ...resolved, format: 'module' }
    : resolved;
}
