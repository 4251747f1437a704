import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OPTIONS_FILE, renderOptions } from '../scripts/gen-options.js';
import { COMMANDS } from '../src/commands.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = join(ROOT, 'README.md');

function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return markdownUnder(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

/** Link targets of a markdown file: inline links and images, and reference definitions; code is not prose, so it is skipped. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const definitions = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!);
  return [...inline, ...definitions];
}

/** Relative targets that do not exist on disk, as "file: target" (external links and pure anchors are not checked). */
function brokenLinks(file: string): string[] {
  return linkTargets(readFileSync(file, 'utf8'))
    .filter((t) => !/^(https?:|mailto:|#)/i.test(t))
    .filter((t) => !existsSync(join(dirname(file), decodeURIComponent(t.split('#')[0]!))))
    .map((t) => `${relative(ROOT, file)}: ${t}`);
}

describe('the documentation', () => {
  const pages = [README, ...markdownUnder(join(ROOT, 'docs'))];

  it('finds links in prose but not in code', () => {
    const md =
      'See [a](a.md), ![fig](x/y.png "t") and [b](b.md#part).\n\n```sh\n[c](c.md)\n```\n`[d](d.md)`\n[ref]: ref.md\n';
    expect(linkTargets(md)).toEqual(['a.md', 'x/y.png', 'b.md#part', 'ref.md']);
  });

  it('has a page for every built-in experiment, and the README links to each', () => {
    const readme = readFileSync(README, 'utf8');
    for (const name of ['qk-variance', 'softmax-saturation', 'mha-vs-mqa', 'scaling', 'attention-training']) {
      expect(existsSync(join(ROOT, 'docs/experiments', `${name}.md`))).toBe(true);
      expect(readme).toContain(`(docs/experiments/${name}.md)`);
    }
  });

  it('every relative link in README.md and docs/ points at a file that exists', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });

  it('docs/options.md is what `npm run docs:options` generates from the command table now', () => {
    // On failure: run `npm run docs:options` and commit the page.
    expect(readFileSync(OPTIONS_FILE, 'utf8')).toBe(renderOptions());
  });

  it('docs/options.md has a section for every command of the table, naming each of its options', () => {
    const page = renderOptions();
    for (const [name, command] of Object.entries(COMMANDS)) {
      expect(page).toContain(`## ${name}\n`);
      for (const key of Object.keys(command.options)) expect(page).toContain(`\`--${key}`);
    }
  });

  it('README.md is a guide of at most 250 lines that starts with the two quick-start commands', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(250);
    expect(readme).toContain('npm install && npm run exp -- scaling\nnpm test\n');
  });

  it('explains every package of package.json in docs/dependencies.md', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    const names = ['dependencies', 'devDependencies', 'optionalDependencies', 'overrides'].flatMap((k) =>
      Object.keys(pkg[k] ?? {}),
    );
    const page = readFileSync(join(ROOT, 'docs/dependencies.md'), 'utf8');
    expect(names.filter((n) => !page.includes(`\`${n}\``))).toEqual([]);
  });
});
