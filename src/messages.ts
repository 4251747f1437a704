/** Every user-facing message, in one catalog. Tests compare against these functions. */
import { didYouMean } from './suggest.js';

/** What a message says of a lock's holder (run/lock.ts's LockHolder has these fields; the catalog imports nothing). */
interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  run?: string;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};
const list = (xs: readonly string[]): string => xs.join(', ');

/** `42 s`, `12 min`, `3 h 20 min`. */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 90) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const min = Math.round(s / 60);
  return min < 90 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

interface EstimateText {
  ms: number;
  points: number;
  heaviest?: { key: string; value: unknown; share: number };
  slowest?: { params: string; ms: number };
}

export const msg = {
  yamlSyntax: (detail: string) => `YAML syntax error: ${detail}`,
  notAMapping: () => 'an experiment file must be a YAML mapping (key: value lines) at the top level',
  unknownKey: (path: string, key: string, allowed: readonly string[]) =>
    `unknown key ${show(key)}${path ? ` in ${path}` : ''}${didYouMean(key, allowed)}; allowed: ${list(allowed)}`,
  wrongValue: (path: string, value: unknown, expected: string) =>
    `${path}: bad value ${show(value)}; expected ${expected}`,
  missingKey: (path: string, expected: string) => `${path}: missing; expected ${expected}`,
  unknownExperiment: (name: string, available: readonly string[]) =>
    `unknown experiment ${show(name)}${didYouMean(name, available)}; available: ${list(available)}, all, or a path to a .yaml file`,
  unknownSimulation: (kind: unknown, available: readonly string[]) =>
    `simulation: unknown kind ${show(kind)}${typeof kind === 'string' ? didYouMean(kind, available) : ''}; available: ${list(available)}`,
  emptyGrid: (key: string) => `grid.${key}: expands to no values; give at least one value`,
  badRange: (key: string, detail: string) => `grid.${key}: ${detail}`,
  gridUnknownParam: (key: string, allowed: readonly string[]) =>
    `grid: unknown parameter ${show(key)}${didYouMean(key, allowed)}; parameters of this simulation: ${list(allowed)}`,
  gridMissingParam: (key: string) => `grid: parameter ${show(key)} has no values and no default; add grid.${key}`,
  gridAxesDropped: (path: string, keys: readonly string[], sets: readonly string[], points: number, again: number) =>
    `note: ${path}: ${keys.join(', ')} dropped from ${points} point${points === 1 ? '' : 's'} where ${keys.length === 1 ? 'it no longer applies' : 'they no longer apply'} after ${sets.map((s) => `--set ${s}`).join(' ')}${again ? `; ${again} of them now coincide with earlier points and run once` : ''}`,
  gridPointInvalid: (path: string, point: string, detail: string) =>
    `${path}: the point ${point} is not allowed: ${detail}`,
  zipUnknown: (key: string) => `zip: ${show(key)} is not a grid parameter`,
  zipLengths: (keys: readonly string[], lengths: readonly number[]) =>
    `zip: parameters ${list(keys)} must have equal lengths to be zipped, got ${lengths.join(', ')}`,
  gridTooLarge: (count: number, limit: number) =>
    `grid: expands to ${count} points, more than the limit of ${limit}; shrink a range or use --quick`,
  badChart: (id: string, detail: string) => `charts.${id}: not a valid Vega-Lite fragment: ${detail}`,
  claimColumn: (id: string, column: string, available: readonly string[]) =>
    `claims.${id}: column ${show(column)} is not produced by this simulation${didYouMean(column, available)}; columns: ${list(available)}`,
  claimTable: (id: string, table: string, available: readonly string[]) =>
    `claims.${id}: unknown table ${show(table)}${didYouMean(table, available)}; tables: ${list(available)}`,
  unknownOption: (opt: string, allowed: readonly string[]) =>
    `unknown option ${show(opt)}${didYouMean(opt, allowed)}; allowed: ${list(allowed)}`,
  badOptionValue: (opt: string, value: string, expected: string) =>
    `option --${opt}: bad value ${show(value)}; expected ${expected}`,
  badOptionUsage: (detail: string) => `${detail} (see --help)`,
  missingExperiment: () => 'no experiment named; usage: npm run exp -- <name|path.yaml|all> [options] (see --help)',
  badSet: (raw: string) => `--set ${show(raw)}: expected key=value, e.g. --set trials=200000 or --set d=[64,128]`,
  badSetKey: (key: string, allowed: readonly string[]) =>
    `--set ${key}=...: unknown key ${show(key)}${didYouMean(key, allowed)}; settable: ${list(allowed)}`,
  runLocked: (h: LockHolder | undefined, lock: string) =>
    `this run is being computed by ${h ? `pid ${h.pid} on ${h.host}, started ${h.startedAt}${h.run ? ` (${h.run})` : ''}` : `another process (lock ${lock})`}. ` +
    'Wait for it to finish, or run the same command with --wait to wait and then use its result; a holder that is gone loses the lock within 10 s',
  lockWaiting: (h: LockHolder | undefined) =>
    `waiting for ${h ? `pid ${h.pid} on ${h.host} (started ${h.startedAt})` : 'another process'}, which runs this configuration now`,
  lockStale: (h: LockHolder | undefined, lock: string) =>
    `warning: taking over the lock of ${h ? `pid ${h.pid} on ${h.host} (started ${h.startedAt})` : lock}, which is gone; its finished points are kept`,
  lockCompromised: (lock: string, detail: string) =>
    `warning: the run lock ${lock} was lost (${detail}); another process may now run this configuration too`,
  mergeLocked: (dir: string, h: LockHolder | undefined) =>
    `merge: the shard in ${dir} is still being computed${h ? ` by pid ${h.pid} on ${h.host} (started ${h.startedAt})` : ''}; merge once it has finished`,
  waitedDone: (dir: string) => `the run finished while this command waited: ${dir} (nothing recomputed)`,
  badSetBlock: (raw: string, key: string, blocks: number) =>
    `--set ${raw}: grid[i].${key} names one grid block of a parameter; this grid has ${blocks} block${blocks === 1 ? '' : 's'} (grid[0]…grid[${blocks - 1}])`,
  badSetValue: (key: string, value: string, detail: string) => `--set ${key}=${value}: ${detail}`,
  machineBusy: (busyCores: number, cores: number) =>
    `the machine was busy when the run started: other processes used ${busyCores.toFixed(2)} of its ${cores} cores; timings taken beside other work are slower and noisier than the machine's own`,
  roundsDisagree: (sigma: number, limit: number) =>
    `the timing rounds disagree: the typical point's round medians spread by ${(sigma * 100).toFixed(1)}% (σ of log time between sessions, median over points), more than the ${(limit * 100).toFixed(0)}% a steady machine shows; the benchmark seems unstable`,
  unstableWarning: (warning: string) => `warning: ${warning}`,
  badSetType: (raw: string, key: string, value: unknown, expected: string) =>
    `--set ${raw}: ${key} must be ${expected}, got ${show(value)}`,
  unknownBackend: (name: string, allowed: readonly string[]) =>
    `unknown backend ${show(name)}; allowed: ${list(allowed)}`,
  backendUnavailable: (name: string, detail: string) =>
    `backend ${show(name)} could not be loaded: ${detail}. Use --backend wasm (the embedded default) or cpu`,
  badTex: (key: string, detail: string) => `${key}: the TeX in this text does not typeset: ${detail}`,
  whereKeepsAll: (chart: string, rows: number) =>
    `${chart}: --where matched all ${rows} rows (no row has a different value): drawn unfiltered`,
  pluginMissing: (file: string) =>
    `simulation: module ${file} does not exist (the path is relative to the experiment file)`,
  pluginImport: (file: string, first: string) => `simulation: module ${file} failed to load: ${first}`,
  pluginNoDefault: (file: string, names: readonly string[]) =>
    `simulation: module ${file} has no default export${names.length ? ` (it exports ${names.join(', ')})` : ''}; write \`export default defineSimulation({ ... })\``,
  pluginNotSimulation: (file: string, got: string) =>
    `simulation: the default export of ${file} is a ${got}, not a simulation; write \`export default defineSimulation({ ... })\``,
  pluginField: (file: string, field: string, problem: 'missing' | 'wrong', expected: string) =>
    `simulation: the default export of ${file} is not a simulation: field ${field} is ${problem}; expected ${expected}`,
  pluginUnknownField: (
    file: string,
    field: string,
    allowed: readonly string[],
    near: { field: string; expected: string } | undefined,
  ) =>
    `simulation: the default export of ${file} is not a simulation: it has no field ${show(field)}` +
    (near ? ` (did you mean ${show(near.field)}? ${near.field} must be ${near.expected})` : '') +
    `; fields: ${list(allowed)}`,
  pluginKindTaken: (file: string, kind: string) =>
    `simulation: ${file} declares kind ${kind}, which is a built-in simulation; give it a name of its own`,
  pluginChanged: (file: string) =>
    `simulation module ${file} changed while the run was going (its content hash differs from the run's); rerun to start a new run`,
  fileMissing: (key: string, file: string) =>
    `${key}: file ${file} does not exist (paths are relative to the experiment file)`,
  setFileMissing: (key: string, file: string, cwd: string) =>
    `${key}: file ${file} does not exist (a path given by --set is relative to the directory the command ran in, ${cwd})`,
  modelNotOnnx: (name: string, file: string, detail: string, looks?: string | null) =>
    `method ${name}: ${file} is not an ONNX model ONNX Runtime can load: ${looks ? `it is ${looks} (${detail})` : detail}`,
  modelContract: (name: string, file: string, found: string, expected: string) =>
    `method ${name}: ${file} ${found}; expected ${expected}`,
  modelFailed: (name: string, file: string, shape: string, detail: string) =>
    `method ${name}: ${file} failed on its first call (${shape}): ${detail}`,
  modelNeedsOnnx: (detail: string) =>
    `methods from ONNX files need the onnx engine, which could not be loaded: ${detail}`,
  badFlops: (name: string, expression: string, detail: string) =>
    `method ${name}: flops ${show(expression)}: ${detail}`,
  // attention-maps: a user's transformer (settings.model) and the probes run through it.
  modelUnreadable: (file: string, detail: string) => `settings.model: ${file} cannot be read: ${detail}`,
  notOnnx: (file: string, detail: string, looks?: string | null) =>
    `settings.model: ${file} is not an ONNX model ONNX Runtime can load${looks ? `: it is ${looks}` : ''} (${detail}); expected a file written by torch.onnx.export or onnx.save`,
  looksEmpty: () => 'empty (0 bytes)',
  looksLfsPointer: () =>
    'a Git LFS pointer, not the model: the repository was cloned without its LFS files (git lfs install, then git lfs pull)',
  looksHtml: () => 'an HTML page: the download saved a web page (a login or a blob view) instead of the file',
  looksZip: () =>
    'a zip archive, as PyTorch saves a checkpoint (torch.save): export the model with torch.onnx.export instead',
  looksPickle: () => 'a Python pickle (a PyTorch or NumPy save): export the model with torch.onnx.export instead',
  looksText: (start: string) => `a text file, beginning ${JSON.stringify(start)}`,
  noIdsInput: (file: string, name: string, inputs: string) =>
    `settings.ids_input: ${file} has no int64 input ${show(name)} of shape [batch, T]; its inputs: ${inputs}. Set ids_input to the name of its token-id input`,
  unknownInput: (file: string, name: string, inputs: string) =>
    `settings.model: ${file} has an input ${show(name)} that attention-maps cannot fill; expected the ids input and, filled by rule, attention_mask (ones), position_ids (0…T−1) and token_type_ids (zeros), each [batch, T]; its inputs: ${inputs}. Export the model without it (for Hugging Face decoders, use_cache=False)`,
  noVocab: (file: string) =>
    `settings.vocab: ${file} has no embedding table read by the ids input and no output whose last axis is fixed; give the vocabulary size with vocab`,
  noSuchTensor: (file: string, name: string, softmaxes: readonly string[]) =>
    `settings.attention: ${file} has no tensor named ${show(name)}; expected the outputs of its attention Softmax nodes${softmaxes.length ? `, which are: ${list(softmaxes.slice(0, 12))}${softmaxes.length > 12 ? `, … (${softmaxes.length})` : ''}` : ' (it has none)'}`,
  noAttention: (file: string, softmaxes: number, ops: Record<string, number>) =>
    `settings.model: no attention found in ${file}: searched its ${Object.values(ops).reduce((a, b) => a + b, 0)} nodes for a Softmax over the last axis whose output is multiplied (MatMul) by the values, and found ${softmaxes} Softmax node${softmaxes === 1 ? '' : 's'}, none feeding a MatMul (ops: ${Object.entries(
      ops,
    )
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([op, n]) => `${op} ${n}`)
      .join(
        ', ',
      )}). Export with eager attention (Hugging Face: attn_implementation="eager"; the fused Attention and MultiHeadAttention ops do not expose their probabilities), or name the probability tensors in settings.attention`,
  noAttentionShape: (file: string, seen: readonly string[], t: number) =>
    `settings.model: no attention found in ${file}: at T=${t} no Softmax feeding a MatMul has the shape [batch, heads, T, T] or [batch·heads, T, T] (found ${list(seen)}); name the probability tensors in settings.attention`,
  namedTensorShape: (file: string, name: string, dims: string, t: number) =>
    `settings.attention: tensor ${show(name)} of ${file} has the shape ${dims} at T=${t}; expected [batch, heads, T, T] or [batch·heads, T, T] (attention probabilities)`,
  firstCallFailed: (file: string, t: number, detail: string) =>
    `settings.model: ${file} failed on its first call (one sequence of ${t} tokens): ${detail}`,
  fixedAxis: (input: string, axis: number, expected: number, fed: string) =>
    `${input}: axis ${axis} is fixed at ${expected} in this model, and attention-maps feeds ${fed}; export with dynamic_axes={'${input}': {0: 'batch', 1: 'T'}}`,
  fixedLength: (t: number) => `the model's sequence axis is fixed to ${t}`,
  fixedLengthGrid: (file: string, t: number, fixed: number) =>
    `grid.T: ${file} takes sequences of ${fixed} tokens only (its input's sequence axis is fixed), not T=${t}; expected T = ${fixed}, or a model exported with a dynamic sequence axis`,
  noSuchHead: (key: string, file: string, label: string, heads: readonly number[]) =>
    `${key}: ${file} has no head ${label}: its ${heads.length} layers have ${heads.join(', ')} heads; expected L<layer>H<head>, both 0-based (L0H0 … L${heads.length - 1}H${(heads.at(-1) ?? 1) - 1})`,
  ablationUnavailable: (file: string, detail: string) =>
    `settings.ablation: ${file} cannot be ablated: ${detail}; expected a logits output [batch, T, vocab] (name it in settings.logits_output), opset 11 or later, and a dynamic batch axis`,
  tooLongForModel: (file: string, t: number, largest: number, detail: string) =>
    `grid.T: ${file} fails at T=${t} (${detail}); the largest T it runs is ${largest} (its positions); expected T ≤ ${largest}`,
  idsOutOfVocab: (key: string, file: string, id: number, vocab: number) =>
    `${key}: token id ${id} is outside the vocabulary of ${file}; expected ids from 0 to ${vocab - 1}`,
  probeTooShort: (key: string, tokens: number, t: number) =>
    `${key}: ${tokens} tokens, fewer than T=${t}; expected at least T tokens (each sequence is cut to its first T), or a smaller T`,
  probeMissing: (probe: string, key: string) =>
    `grid.probe: ${show(probe)} needs settings.${key}, which is empty; give at least one`,
  tokenizerFailed: (file: string, detail: string) =>
    `settings.tokenizer: ${file} is not a tokenizer.json that loads: ${detail}`,
  noTokenizer: (file: string, vocab: number) =>
    `grid.probe: text needs a tokenizer: ${file} has ${vocab} tokens, not GPT-2's 50257, so give settings.tokenizer (a tokenizer.json, e.g. from the Hugging Face model's folder)`,
  backendNotFor: (name: string, kind: string, allowed: readonly string[]) =>
    `backend ${show(name)} cannot run ${kind} experiments; allowed for them: ${list(allowed)}`,
  outputUnwritable: (dir: string, detail: string) => `output directory ${dir} is not writable: ${detail}`,
  checkpointTruncated: (file: string, line: number) =>
    `warning: ${file}:${line}: ignoring an unfinished checkpoint line; that point will be recomputed`,
  resuming: (dir: string, done: number, total: number) => `resuming ${dir}: ${done}/${total} points already done`,
  resumeNothing: () => 'note: --resume given but no unfinished run of this configuration exists; starting a new run',
  claimsNotEvaluated: (ids: readonly string[], narrowing: readonly string[]) =>
    `not evaluated: ${ids.length} claim${ids.length === 1 ? '' : 's'} without rows after ${narrowing.join(' ')} (${ids.join(', ')})`,
  claimsSummary: (passed: number, total: number, inconclusive = 0) =>
    `claims: ${passed}/${total} passed${inconclusive ? `, ${inconclusive} inconclusive` : ''}`,
  /** What narrows a timing claim's interval: the rounds' disagreement (σ of log time between rounds), and the cure. */
  cureTiming: (spread: number | null) =>
    `${spread === null ? 'the timings vary between sessions' : `rounds disagree by ${Math.round(spread * 100)}%`}: rerun on a quieter machine or with more rounds (--set rounds=N)`,
  /** What narrows a Monte Carlo or training claim's interval. */
  cureSampling: () => 'more trials, draws or replicates narrow the interval (--set)',
  strictNeedsCheck: () => '--strict makes --check count inconclusive claims; it needs --check',
  stopping: () => 'interrupt: finishing the current point, then writing what is done (Ctrl-C again to quit at once)',
  interrupted: (dir: string) =>
    `interrupted: the outputs in ${dir} are incomplete; run the same command again to finish`,
  rowKeys: (kind: string, index: number, missing: readonly string[], extra: readonly string[]) =>
    `simulation ${kind} returned row ${index} ${[missing.length ? `without ${missing.join(', ')}` : '', extra.length ? `with keys not in its row schema: ${extra.join(', ')}` : ''].filter(Boolean).join(' and ')}`,
  attachPath: (kind: string, path: string) =>
    `simulation ${kind} attached a file at ${show(path)}: a file must lie in a folder of the run directory (like models/a.onnx), named with letters, digits, '.', '_' and '-', outside charts/, figures/ and vendor/`,
  pointFailed: (point: string, detail: string) =>
    `warning: point ${point} failed and was recorded without rows: ${detail}`,
  pointsFailed: (n: number) => `${n} point${n === 1 ? '' : 's'} failed (listed in the report and manifest.json)`,
  shardDone: (name: string, shard: string, points: number, gridPoints: number, root: string) =>
    `${name} shard ${shard}: ${points} of the grid's ${gridPoints} points. When every shard is done, merge them: npm run exp -- merge ${name} ${root}`,
  mergeUsage: () => 'usage: npm run exp -- merge <name> <shard dirs...> [--out DIR] [--check [--strict]]',
  mergeOption: (opt: string) =>
    `merge: --${opt} is not allowed; the shards recorded their settings (--quick, --set, --seed, --backend). Allowed: --out, --check, --strict`,
  mergeNoDir: (dir: string) => `merge: ${dir} does not exist`,
  mergeNoShards: (name: string, dirs: readonly string[]) =>
    `merge: no shard runs of ${JSON.stringify(name)} under ${list(dirs)}; make them with npm run exp -- ${name} --shard i/n`,
  mergeMixed: (groups: readonly string[]) =>
    `merge: the shards come from different configurations (experiment file, seed, --quick/--set, backend or number of shards): ${groups.join('; ')}. Name the directories of one of them`,
  mergeMissing: (missing: readonly number[], count: number, example: string) =>
    `merge: shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} ${missing.length === 1 ? 'is' : 'are'} missing; run ${missing.length === 1 ? 'it' : 'each'} first, e.g. ${example}`,
  mergeUnfinished: (shard: string, dir: string, done: number, total: number, command: string) =>
    `merge: shard ${shard} in ${dir} is unfinished (${done}/${total} points); rerun its command to resume it: ${command}`,
  mergeDuplicate: (shard: string, dir: string, copies: number) =>
    `note: ${copies} runs of shard ${shard}; using the newest complete one, ${dir}`,
  mergeFileChanged: (file: string, was: string, now: string) =>
    `merge: the shards ran ${file} with sha256 ${was.slice(0, 12)}…, but the file now hashes to ${now.slice(0, 12)}…; merge with the version the shards ran`,
  mergeModuleChanged: (file: string, was: string, now: string) =>
    `merge: the simulation module ${file} is not the one the shards ran (sha256 ${was.slice(0, 12)}… then, ${now.slice(0, 12)}… now); rerun the shards or restore the module`,
  mergeConfig: (file: string) =>
    `merge: ${file} with the shards' --quick/--set/--seed no longer gives their configuration (was the code changed between the shards and the merge?)`,
  mergeForeignPoint: (dir: string, point: string, shard: string) =>
    `merge: ${dir}/points.jsonl holds point ${point}, which is not in shard ${shard} of this grid`,
  mergeIncomplete: (have: number, total: number) =>
    `merge: the shards hold ${have} of the grid's ${total} point × replicates`,
  estimate: (name: string, e: EstimateText) => `${name}: ${e.points} points, about ${duration(e.ms)} by the cost model`,
  tooLong: (name: string, e: EstimateText, limitMs: number) =>
    [
      `${name}: this grid would take about ${duration(e.ms)} here (${e.points} points, by the cost model), more than ${duration(limitMs)}.`,
      e.slowest ? ` The slowest point, ${e.slowest.params}, takes about ${duration(e.slowest.ms)}.` : '',
      e.heaviest
        ? ` Points with ${e.heaviest.key}=${JSON.stringify(e.heaviest.value)} take ${Math.round(e.heaviest.share * 100)}% of the time.`
        : '',
      ` Shrink it (--quick, or fewer values with --set ${e.heaviest?.key ?? 'key'}=[...]), split it across machines (--shard i/n, see scripts/), or run it anyway with --yes`,
    ].join(''),
  compareUsage: () =>
    'usage: npm run exp -- compare <A> <B> [--threshold F] [--fail-slower F]: A and B are run directories or <name>@<run-id> (or <name>@latest)',
  compareRef: (ref: string) =>
    `compare: ${JSON.stringify(ref)} is neither a run directory (with manifest.json) nor <name>@<run-id> / <name>@latest`,
  compareShard: (dir: string, shard: string) =>
    `compare: ${dir} is shard ${shard} of a run; merge the shards first (npm run exp -- merge) and compare the merged run`,
  compareExperiments: (a: string, b: string) =>
    `compare: A is a run of ${a} and B of ${b}; compare two runs of one experiment`,
  compareFailSlower: (count: number, factor: number) =>
    `${count} point${count === 1 ? '' : 's'} slower than ${factor}× (--fail-slower)`,
  noRuns: (name: string, root: string) =>
    `no complete run of ${JSON.stringify(name)} under ${root}; run npm run exp -- ${name} first`,
  unknownRun: (name: string, id: string, available: readonly string[]) =>
    `no run ${JSON.stringify(id)} of ${JSON.stringify(name)}; runs: ${list(available)}`,
  figuresUsage: () =>
    'usage: npm run figures -- <name> [--run ID] [--theme slides|paper|report] [--format svg,png,pdf] [--scale N] [--out DIR]',
  // mha-vs-mqa: combinations of the decode step's parameters that do not exist (the grid reports file, line and key)
  decodeQuantizedOnGraph: (dtype: string) =>
    `kv_dtype ${dtype} runs on kernel gqa-op only (GroupQueryAttention dequantizes as it reads; the graph kernel has no quantized product); allowed on kernel graph: float32, float16`,
  decodeLatentOnly: (key: string, variant: string) =>
    `${key} describes the latent cache of variant mla, not ${variant}`,
  decodeLatentWithout: (key: string, variant: string) =>
    `${key} describes the latent cache of variant mla, not ${variant}; drop ${key} or set variant: mla`,
  decodeMlaNeeds: () => 'variant mla needs d_latent (the latent width per token and layer, e.g. 512 for DeepSeek-V2)',
  decodeMlaKernel: () =>
    'analytic only: GroupQueryAttention has one head width for keys and values; mla is timed on kernel graph',
  decodeFloat16Converted: (what: string) =>
    `analytic only: ONNX Runtime runs the float16 ${what} here by casting the cache to float32 first (no float16 kernel on this provider); its time would be the cast's`,
  decodeKvDtype: (dtype: string, bytes: number) =>
    `kv_dtype ${dtype} does not go with dtype_bytes ${bytes}: float32 goes with 4, float16 with 2 (int8 and int4 with either)`,
  decodeQuantHead: (k: number) =>
    `a quantized cache needs the head width d/h to be a power of 2 of at least 8 (ONNX Runtime's rule); here d/h = ${k}`,
  decodeWindowTooLarge: (window: number, largestN: number) =>
    `window ${window} is larger than every n of its points (the largest is ${largestN}), so the window never fills; allowed: a window at most the largest n`,

  // Failures inside a computation: thrown as plain Errors where a caller records them beside the point (or wraps
  // them with the file and key), so their text reads as the reason.
  flopsNotANumber: (value: unknown) => `${JSON.stringify(value)} is not a number`,
  flopsUnknownName: (name: string) => `unknown name ${name}; allowed: N, D, M`,
  flopsUnknownFunction: (allowed: readonly string[]) => `unknown function; allowed: ${list(allowed)}`,
  flopsNotAllowed: (what: string, functions: readonly string[]) =>
    `${what} is not allowed; use numbers, N, D, M, + - * / ** and ${list(functions)}`,
  flopsValue: (value: number, vars: { N: number; D: number; M: number }) =>
    `it gives ${value} at N=${vars.N}, D=${vars.D}, M=${vars.M}; FLOPs must be a finite number ≥ 0`,
  methodNeedsOnnxEngine: (method: string) => `method ${method} is an ONNX model: it runs on the onnx engine only`,
  causalNotImplemented: (method: string) => `causal ${method} is not implemented`,
  handHeadWidth: (needed: number, got: number) =>
    `the hand-designed head needs d_model ≥ vocab + 3 (${needed}), got ${got}`,
  segmentTooLong: (segment: number, n: number) => `two copies of a segment of ${segment} do not fit in ${n} positions`,
  timingIncomplete: (label: string, state: string | undefined) => `timing ${label} did not complete: ${state}`,
  alreadyRegistered: (kind: string) => `simulation ${kind} is already registered`,
  notADirectory: (dir: string) => `${dir} is a file, not a directory`,
  vegaCouldNotDraw: (title: string | undefined, error: string) =>
    `Vega could not draw the chart${title !== undefined ? ` "${title}"` : ''}: ${error}`,
  setBackendFailed: () => 'setBackend returned false',
  memoryProbeExited: (code: number | null) => `memory probe exited (${code})`,
  onnxOutsideMainThread: () => 'the onnx engine runs timing points in the main thread only',
} as const;
