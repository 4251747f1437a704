import { describe, expect, it } from 'vitest';
import { mathHtml } from '../../src/report/math.js';
import { plainText, texProblem } from '../../src/spec/tex.js';

describe('TeX in experiment text', () => {
  it('typesets $…$ spans with KaTeX and escapes the rest; \\$ is a dollar', () => {
    const html = mathHtml('a <b> and $\\sqrt{d}$ for \\$5');
    expect(html.startsWith('a &lt;b&gt; and <span class="katex">')).toBe(true);
    expect(html.endsWith(' for $5')).toBe(true);
    expect(mathHtml('no math here')).toBe('no math here');
  });

  it('names the first problem: an unclosed $, or what KaTeX says', () => {
    expect(texProblem('fine $x^2$ and $y$')).toBeNull();
    expect(texProblem('costs $5')).toBe('a $ is not closed (write \\$ for a dollar sign)');
    expect(texProblem('costs \\$5')).toBeNull();
    expect(texProblem('$\\frac{1}$')).toMatch(/^\$\\frac\{1\}\$: /);
  });

  it('plain text for SVG and PNG titles', () => {
    expect(plainText('Var(q·k) vs $\\sqrt{d}$')).toBe('Var(q·k) vs √d');
    expect(plainText('$N^2$ against $N^{-1}$')).toBe('N² against N⁻¹');
    expect(plainText('$\\rho \\le 1$, $\\varphi(K)^\\top V$')).toBe('ρ ≤ 1, φ(K)ᵀV');
    expect(plainText('$\\operatorname{Var}(q\\cdot k) = d\\sigma^4$')).toBe('Var(q·k) = dσ⁴');
  });
});
