import { msg } from '../messages.js';
import { qkVariance } from './qk-variance/simulation.js';
import { scaling } from './scaling/simulation.js';
import { softmaxSaturation } from './softmax-saturation/simulation.js';
import { mhaVsMqa } from './mha-vs-mqa/simulation.js';
import { attentionTraining } from './attention-training/simulation.js';
import { inductionHeads } from './induction-heads/simulation.js';
import { attentionMaps } from './attention-maps/simulation.js';
import type { Simulation } from './types.js';

/** Every simulation kind, by name. Adding an experiment kind means adding one line here. */
const registry: Record<string, Simulation> = {
  [qkVariance.kind]: qkVariance,
  [scaling.kind]: scaling,
  [softmaxSaturation.kind]: softmaxSaturation,
  [mhaVsMqa.kind]: mhaVsMqa,
  [attentionTraining.kind]: attentionTraining,
  [inductionHeads.kind]: inductionHeads,
  [attentionMaps.kind]: attentionMaps,
};

/** The kinds this module provides: the only ones a worker thread (--jobs) can load by name. */
const builtIn = new Set(Object.keys(registry));

export function isBuiltIn(kind: string): boolean {
  return builtIn.has(kind);
}

/**
 * Add a simulation kind (extensions and tests); an existing kind cannot be replaced. It lives
 * in this thread only, so its points run in-process whatever --jobs says.
 */
export function registerSimulation(sim: Simulation): void {
  if (Object.hasOwn(registry, sim.kind)) throw new Error(msg.alreadyRegistered(sim.kind));
  registry[sim.kind] = sim;
}

export function getSimulation(kind: string): Simulation | undefined {
  return Object.hasOwn(registry, kind) ? registry[kind] : undefined;
}

export function simulationKinds(): string[] {
  return Object.keys(registry).sort();
}

export function allSimulations(): Simulation[] {
  return simulationKinds().map((k) => registry[k]!);
}
