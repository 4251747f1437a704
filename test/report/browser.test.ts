import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cli, hasTool, latestRun, tmp } from '../helpers.js';

// Debian's chromium; .ci/run installs it when missing.
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = hasTool('browser', [CHROMIUM], 'Debian: apt-get install -y chromium');
const ARTIFACTS = join(ROOT, 'test-artifacts');

describe.runIf(HAVE_CHROMIUM)('reports in a real browser (headless Chromium)', () => {
  let browser: Browser;
  let out: string;
  let report: string;

  beforeAll(async () => {
    out = join(tmp(), 'results');
    const r = await cli(['qk-variance', '--quick', '--set', 'trials=500', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    report = join(latestRun(out, 'qk-variance'), 'report.html');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('the report renders every chart interactively, with marks, tooltips and the claims table, and no console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(report).href);
    await page.waitForFunction(
      () =>
        document.querySelectorAll('.vis[data-interactive="true"]').length === document.querySelectorAll('.vis').length,
      null,
      { timeout: 30_000 },
    );
    const charts = await page.$$eval('.vis', (els) =>
      els.map(
        (el) =>
          el.querySelectorAll(
            '.vega-embed svg .mark-symbol path, .vega-embed svg .mark-line path, .vega-embed svg .mark-rule line',
          ).length,
      ),
    );
    expect(charts).toHaveLength(3);
    for (const marks of charts) expect(marks).toBeGreaterThan(0);
    expect(await page.locator('table th', { hasText: 'expected' }).count()).toBe(1);
    expect(await page.locator('td.pass, td.fail, td.inconclusive').count()).toBe(8);
    // Hover a point of the first chart: Vega's tooltip shows its fields.
    const point = page.locator('.vis').first().locator('.mark-symbol path').first();
    await point.hover({ force: true });
    await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5_000 });
    expect(await page.locator('#vg-tooltip-element').innerText()).toContain('d');
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  // The first screen of a report, as a reader meets it at 1280 × 900: the claims verdict and the findings, no sideways scroll.
  const FIRST_SCREEN: [string, string[]][] = [
    ['qk-variance', ['--quick', '--set', 'trials=500']],
    ['attention-training', ['--quick', '--set', 'steps=20', '--set', 'd_model=[16]']],
    ['scaling', ['--quick', '--set', 'N=[256,512]', '--set', 'time_budget_ms=20', '--set', 'error_draws=2']],
    [
      'mha-vs-mqa',
      [
        '--quick',
        '--set',
        'n=[128,8192]',
        '--set',
        'b=[1]',
        '--set',
        'd=[1024]',
        '--set',
        'h=[16]',
        '--set',
        'time_budget_ms=10',
      ],
    ],
    ['softmax-saturation', ['--quick', '--set', 'draws=200', '--set', 'spectral_draws=8']],
    ['induction-heads', ['--quick']],
    ['attention-maps', ['--quick']],
  ];
  it.each(FIRST_SCREEN)(
    '%s: verdict and findings on the first screen, no horizontal scroll at 1280 px, every figure with alt text',
    async (name, args) => {
      const root = name === 'qk-variance' ? out : join(tmp(), 'results');
      if (name !== 'qk-variance') expect((await cli([name, ...args, '--out', root])).code).toBe(0);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(latestRun(root, name), 'report.html')).href);
      await page.waitForFunction(
        () =>
          document.querySelectorAll('.vis[data-interactive="true"]').length ===
          document.querySelectorAll('.vis').length,
        null,
        { timeout: 30_000 },
      );
      const layout = await page.evaluate(() => {
        const bottom = (sel: string) => document.querySelector(sel)?.getBoundingClientRect().bottom ?? Infinity;
        return {
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          verdict: bottom('.verdict'),
          findings: bottom('.findings'),
          findingCount: document.querySelectorAll('.findings li').length,
          unlabelled: [...document.querySelectorAll('.vis')].filter((el) => !el.getAttribute('aria-label')).length,
          katex: document.querySelectorAll('.katex').length,
          rawTex: document.body.innerText.match(/\$[^$\n]+\$/g) ?? [],
        };
      });
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
      expect(layout.verdict).toBeLessThan(900);
      expect(layout.findings).toBeLessThan(900);
      expect(layout.findingCount).toBeGreaterThanOrEqual(3);
      expect(layout.unlabelled).toBe(0);
      // The built-in files write their formulas in TeX: typeset by KaTeX, no raw $…$ left.
      expect(layout.katex).toBeGreaterThan(0);
      expect(layout.rawTex).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `first-screen-${name}.png`) });
      expect(errors).toEqual([]);
    },
  );

  it('the index opens from disk and links to the report', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
    expect(await page.locator('table tr').count()).toBe(2);
    await page.locator('a', { hasText: 'report' }).first().click();
    await page.waitForSelector('h1');
    expect(page.url()).toBe(pathToFileURL(report).href);
    await page.screenshot({ path: join(ARTIFACTS, 'index-click.png') });
    expect(errors).toEqual([]);
  });
});

describe.runIf(HAVE_CHROMIUM)("attention-maps' head view in a real browser (the hand-planted model)", () => {
  it('all heads of layer 0 as thumbnails; pick L0H0, click query 5: the weights shown over the keys are its map in results.csv (key 4: 1.000, a previous-token head)', async () => {
    const out = join(tmp(), 'results');
    const yaml = join(ROOT, 'test/fixtures/attention-maps/planted.yaml');
    const r = await cli([yaml, '--set', 'probe=[random]', '--set', 'baseline=none', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const run = latestRun(out, 'attention-maps-planted');
    // results.csv writes a map as its weights to 3 decimals, separated by ';'.
    const [head, ...lines] = readFileSync(join(run, 'results.csv'), 'utf8').trimEnd().split('\n');
    const cols = head!.split(',');
    const row = lines
      .map((l) => l.split(','))
      .find((c) => c[cols.indexOf('layer')] === '0' && c[cols.indexOf('head')] === '0')!;
    const map = row[cols.indexOf('map')]!.split(';');
    const t = Math.sqrt(map.length);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(run, 'report.html')).href);
      await page.selectOption('#hv-layer', '0');
      await page.selectOption('#hv-head', 'all');
      expect(await page.locator('#hv-thumbs figure').count(), 'one thumbnail per head of layer 0').toBe(4);
      await page.locator('#hv-thumbs figure[data-head="0"]').click();
      expect(await page.inputValue('#hv-head')).toBe('0');
      await page.locator('.hv-q[data-q="5"]').click();
      const shown = await page.$$eval('#hv-keys .hv-k .hv-w', (els) => els.map((e) => e.textContent));
      expect(shown, 'a weight per key').toHaveLength(t);
      expect(shown).toEqual(map.slice(5 * t, 6 * t));
      expect(shown[4], 'L0H0 puts its weight on the previous token').toBe('1.000');
      expect(await page.locator('#hv-picked').innerText()).toContain('query 5');
      await page.screenshot({ path: join(ARTIFACTS, 'head-view.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
