/**
 * TeX in the text of experiment files: `$…$` spans (a literal dollar is `\$`), checked when the file loads and turned
 * into plain text where no HTML can go (chart titles in SVG, PNG, PDF); src/report/math.ts typesets them as HTML.
 */
import katex from 'katex';

/** The text split into plain parts (even indices) and TeX parts (odd). */
export function split(text: string): string[] {
  const parts: string[] = [''];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '$') {
      parts[parts.length - 1] += '$';
      i++;
    } else if (c === '$') parts.push('');
    else parts[parts.length - 1] += c;
  }
  return parts;
}

/** TeX that KaTeX accepted (a file is checked again by every load: each command, each test). */
const typeset = new Set<string>();

/** The first problem with the text's TeX (an unclosed `$`, or what KaTeX says of a span), or null. */
export function texProblem(text: string): string | null {
  const parts = split(text);
  if (parts.length % 2 === 0) return 'a $ is not closed (write \\$ for a dollar sign)';
  for (let i = 1; i < parts.length; i += 2) {
    if (typeset.has(parts[i]!)) continue;
    try {
      katex.renderToString(parts[i]!, { throwOnError: true });
      if (typeset.size >= 1024) typeset.clear();
      typeset.add(parts[i]!);
    } catch (e) {
      return `$${parts[i]}$: ${(e as Error).message.replace(/^KaTeX parse error: /, '')}`;
    }
  }
  return null;
}

const SYMBOLS: Record<string, string> = {
  alpha: 'α',
  beta: 'β',
  gamma: 'γ',
  delta: 'δ',
  epsilon: 'ε',
  theta: 'θ',
  lambda: 'λ',
  mu: 'μ',
  pi: 'π',
  rho: 'ρ',
  sigma: 'σ',
  tau: 'τ',
  phi: 'φ',
  varphi: 'φ',
  omega: 'ω',
  Sigma: 'Σ',
  Delta: 'Δ',
  cdot: '·',
  times: ' × ',
  le: ' ≤ ',
  leq: ' ≤ ',
  ge: ' ≥ ',
  geq: ' ≥ ',
  approx: ' ≈ ',
  ne: ' ≠ ',
  neq: ' ≠ ',
  infty: '∞',
  to: ' → ',
  top: 'ᵀ',
  ldots: '…',
  dots: '…',
  sum: 'Σ',
  in: ' ∈ ',
  pm: ' ± ',
  lVert: '‖',
  rVert: '‖',
  Vert: '‖',
  lvert: '|',
  rvert: '|',
  mid: '|',
  ell: 'ℓ',
  mathbb: '',
  mathrm: '',
  mathbf: '',
  text: '',
  operatorname: '',
  left: '',
  right: '',
  quad: ' ',
  ',': ' ',
  ';': ' ',
};
const SUPERSCRIPT: Record<string, string> = {
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
  '-': '⁻',
  '+': '⁺',
  n: 'ⁿ',
  T: 'ᵀ',
  '−': '⁻',
  ᵀ: 'ᵀ',
};

/** The text with its TeX as plain Unicode (for SVG and PNG titles): `$\sqrt{d}$` → √d, `$N^2$` → N², `$\rho$` → ρ. */
export function plainText(text: string): string {
  return split(text)
    .map((p, i) => {
      if (i % 2 === 0) return p;
      let t = p.replace(/\\sqrt\{([^{}]*)\}/g, (_, x: string) => (x.length === 1 ? `√${x}` : `√(${x})`));
      t = t.replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, '($1)/($2)');
      // A control word eats the spaces after it, as in TeX; relations bring their own.
      t = t.replace(
        /\\([A-Za-z]+)\s*|\\([,;])/g,
        (_m, word: string | undefined, mark: string | undefined) => SYMBOLS[word ?? mark!] ?? word ?? mark!,
      );
      t = t.replace(/\^\{([^{}]*)\}|\^(.)/g, (_m, group: string | undefined, one: string | undefined) => {
        const s = group ?? one ?? '';
        return [...s].every((c) => SUPERSCRIPT[c]) ? [...s].map((c) => SUPERSCRIPT[c]).join('') : `^${s}`;
      });
      return t
        .replace(/_\{([^{}]*)\}/g, '_$1')
        .replace(/[{}]/g, '')
        .replace(/ {2,}/g, ' ');
    })
    .join('');
}
