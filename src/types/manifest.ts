import type { EngineInfo } from './engines.js';

/** Timing runs: how steady the machine looked (src/run/stability.ts measures it). */
export interface Stability {
  /** Cores' worth of CPU other processes used when the run started (null: not measurable here). */
  busyCores: number | null;
  cores: number;
  /**
   * σ of log time between the rounds of a point, the median over points, and the degrees of freedom of all of them
   * (null: no rounds).
   */
  roundSpread: { sigma: number; df: number } | null;
  /** What a reader should know, one sentence each; empty when the machine looked steady. */
  warnings: string[];
}

/** manifest.json: everything needed to say where a result came from. */
export interface Manifest {
  status: 'running' | 'interrupted' | 'complete';
  runId: string;
  experiment: string;
  command: string;
  experimentFile: string;
  experimentSha256: string;
  /**
   * Files the run reads (models, methods, tokenizers), with their sha256 (part of the configuration hash), the
   * setting that names each and where it was named (the experiment file or a --set).
   */
  inputs?: { key?: string; path: string; sha256: string; namedIn?: string }[];
  /** The simulation's module, where it comes from the user's file: part of the configuration hash. */
  simulationModule?: { path: string; sha256: string };
  /** Hash of the effective experiment and backend; an unfinished run with the same hash is resumed. */
  configHash: string;
  seed: number;
  quick: boolean;
  sets: string[];
  /** The directory paths in --set were resolved against (where the command was typed). */
  cwd?: string;
  git: { commit: string; dirty: boolean } | null;
  /** The engine: name, providing package and, for onnx, its version, execution provider and threads. */
  backend: EngineInfo;
  versions: Record<string, string>;
  cpu: { model: string; count: number };
  platform: string;
  startedAt: string;
  finishedAt?: string;
  points: { total: number; done: number };
  /** Claim verdicts (inconclusive: absent in manifests written before the three verdicts). */
  claims?: {
    passed: number;
    failed: number;
    errored: number;
    inconclusive?: number;
    /** Claims left without rows by --quick or a --set that narrowed the grid: not evaluated. */
    notEvaluated?: string[];
  };
  /** Points whose simulation threw: the run went on without their rows. */
  errors?: { point: string; replicate: number; params: Record<string, unknown>; message: string }[];
  /** Set on a shard run (`--shard index/count`): it holds only its own points and no report. */
  shard?: { index: number; count: number };
  /** Set on a merged run: the shards it combines, with where and when each ran. */
  shards?: {
    shard: string;
    dir: string;
    cpu: Manifest['cpu'];
    platform: string;
    git: Manifest['git'];
    startedAt: string;
    finishedAt: string;
  }[];
  /** What the simulation's setup measured (machine bandwidth, peak FLOP/s, ...). */
  setup?: Record<string, number>;
  /** Timing runs: how busy the machine was at the start and how much the rounds disagreed, with any warnings. */
  stability?: Stability;
}
