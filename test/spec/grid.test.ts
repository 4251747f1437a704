import { describe, expect, it } from 'vitest';
import { canonicalJson, expandGrid, expandValues, pointId } from '../../src/spec/grid.js';
import { parseExperiment } from '../../src/spec/load.js';

const base = (grid: string, extra = '') => `
name: t
title: T
description: D
simulation: qk-variance
seed: 1
grid:
${grid}
${extra}
charts:
  - id: c
    title: C
    spec: { mark: point, encoding: { x: { field: d, type: quantitative } } }
`;

describe('expandValues', () => {
  it('geometric 1..1024 by 2 is the 11 powers of two', () => {
    expect(expandValues('d', { geometric: { from: 1, to: 1024, factor: 2 } })).toEqual([
      1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
    ]);
  });
  it('linear 0..1 by 0.25 has no float drift', () => {
    expect(expandValues('x', { linear: { from: 0, to: 1, step: 0.25 } })).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(expandValues('x', { linear: { from: 0.1, to: 0.3, step: 0.1 } })).toEqual([0.1, 0.2, 0.3]);
  });
});

describe('expandGrid', () => {
  it('takes the product in file order, first key slowest', async () => {
    const { experiment, sim } = await parseExperiment(base('  d: [1, 2]\n  sigma: [1, 3]'), 't.yaml');
    const pts = expandGrid(experiment, sim).points;
    expect(pts.map((p) => [p.params['d'], p.params['sigma']])).toEqual([
      [1, 1],
      [1, 3],
      [2, 1],
      [2, 3],
    ]);
    expect(pts[0]!.params['mu']).toEqual({ kind: 'zero' });
    expect(pts[0]!.params['scaling']).toBe('none');
  });

  it('zips parameters that advance together', async () => {
    const { experiment, sim } = await parseExperiment(
      base('  d: [1, 2, 4]\n  sigma: [1, 2, 3]\n  scaling: [none, sqrt_d]', 'zip: [[d, sigma]]'),
      't.yaml',
    );
    const pts = expandGrid(experiment, sim).points;
    expect(pts).toHaveLength(6);
    expect(pts.map((p) => `${p.params['d']}/${p.params['sigma']}`)).toEqual(['1/1', '1/1', '2/2', '2/2', '4/3', '4/3']);
  });

  it('ids are hashes of the params, independent of position and key order', async () => {
    const a = await parseExperiment(base('  d: [1, 2]\n  sigma: [1]'), 't.yaml');
    const b = await parseExperiment(base('  sigma: [1]\n  d: [2, 1]'), 't.yaml');
    const idsA = expandGrid(a.experiment, a.sim).points.map((p) => p.id);
    const idsB = expandGrid(b.experiment, b.sim).points.map((p) => p.id);
    expect(new Set(idsA)).toEqual(new Set(idsB));
    expect(canonicalJson({ b: 1, a: { y: 2, x: 1 } })).toBe('{"a":{"x":1,"y":2},"b":1}');
    expect(pointId({ d: 1 })).toMatch(/^[0-9a-f]{12}$/);
  });
});
