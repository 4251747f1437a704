import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../helpers.js';

const HOSTILE = `name: hostile
title: "<script>alert('title')</script> & co"
description: "<img src=x onerror=alert(1)>"
simulation: qk-variance
seed: 1
grid:
  d: [1, 4]
  sigma: [1]
settings: { trials: 200 }
notes: ["<script>alert('note')</script>"]
charts:
  - id: c
    title: "<script>alert('chart')</script>"
    spec: { mark: point, encoding: { x: { field: d, type: quantitative }, y: { field: var, type: quantitative } } }
`;

describe('reports escape every string from files and the command line', () => {
  it('no script tag survives into report.html or index.html; the text shows, escaped', async () => {
    const dir = tmp();
    const file = join(dir, 'hostile.yaml');
    writeFileSync(file, HOSTILE);
    const out = join(dir, 'results');
    // A YAML comment makes the --set value valid while carrying markup into the command line.
    const r = await cli([file, '--out', out, '--set', "d=[1, 4] # <script>alert('set')</script>"]);
    expect(r.code, r.stderr).toBe(0);
    const report = readFileSync(r.stdout.trimEnd().split('\n').pop()!, 'utf8');
    // The only script elements are the report's own: one spec per chart, the three vendor files, the embed loop.
    expect(report.match(/<script[^>]*>/g)).toEqual([
      '<script type="application/json" id="spec-c">',
      '<script src="vendor/vega.min.js">',
      '<script src="vendor/vega-lite.min.js">',
      '<script src="vendor/vega-embed.min.js">',
      '<script>',
    ]);
    expect(report).not.toMatch(/<script>alert|<img/i);
    // Inside the JSON spec, "<" is written \u003c, so a title cannot close the script element.
    expect(report).toContain("\\u003cscript>alert('chart')\\u003c/script>");
    expect(report).toContain('&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; co');
    expect(report).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(report).toContain('&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;');
    expect(report).toContain('&lt;script&gt;alert(&#39;set&#39;)&lt;/script&gt;');
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).not.toMatch(/<script/i);
    expect(index).toContain('&lt;script&gt;alert(&#39;set&#39;)&lt;/script&gt;');
  });
});

describe('results/index.html', () => {
  it('lists every run newest first, with claims, backend and a relative link to its report', async () => {
    const out = join(tmp(), 'results');
    expect((await cli(['qk-variance', '--quick', '--set', 'trials=200', '--out', out])).code).toBe(0);
    expect(
      (await cli(['softmax-saturation', '--quick', '--set', 'draws=50', '--set', 'd=[1]', '--out', out])).code,
    ).toBe(0);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    const rows = index.split('\n').filter((l) => l.startsWith('<tr><td>'));
    expect(rows).toHaveLength(2);
    // Seven of its eight claims decide: the one at d = 1024 has no rows after --set d=[1].
    expect(rows[0]).toMatch(
      /^<tr><td>softmax-saturation<\/td>.*<td>wasm<\/td><td class="(pass|fail|inconclusive)">\d+\/7( \(\d+ inconclusive\))?<\/td>.*<a href="softmax-saturation\/[^"]+\/report\.html">report<\/a>/,
    );
    expect(rows[1]).toMatch(/^<tr><td>qk-variance<\/td>.*<a href="qk-variance\/[^"]+\/report\.html">report<\/a>/);
    // npm run report rebuilds the same page from the manifests alone
    const { rebuildIndex } = await import('../../src/run/runner.js');
    expect(readFileSync(rebuildIndex(out), 'utf8')).toBe(index);
  });
});
