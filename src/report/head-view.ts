/**
 * The report's head view (as bertviz's head and model views, inside the self-contained report, with no network):
 * pick a sequence, a layer, and one head or all heads of the layer as thumbnails; click or hover a query token to see
 * its weights over the keys, each key's token and weight written beside it.
 *
 *   <section id="head-view">  selectors (#hv-seq, #hv-layer, #hv-head: a head or "all")
 *     #hv-thumbs   one small map per head of the layer (click one to pick it)
 *     #hv-queries  the sequence's tokens as buttons (.hv-q, data-q)
 *     #hv-keys     the keys of the query picked (.hv-k, data-k, its weight in .hv-w and data-w), shaded by weight
 */
import type { HeadView } from '../sim/types.js';
import { esc } from './escape.js';
import { scriptJson } from './interactive.js';

export const HEAD_VIEW_STYLE = `
#head-view select{margin:0 .8rem .5rem .3rem}#hv-thumbs{display:flex;flex-wrap:wrap;gap:.5rem;margin:.3rem 0}
#hv-thumbs figure{margin:0;cursor:pointer;text-align:center;font-size:.8rem}#hv-thumbs figure.on canvas{outline:2px solid #0072B2}
#hv-thumbs canvas{width:72px;height:72px;image-rendering:pixelated;border:1px solid #ccc}
.hv-row{display:flex;flex-wrap:wrap;gap:2px;margin:.3rem 0}.hv-q,.hv-k{font:13px monospace;border:1px solid #ccc;padding:1px 4px;background:#fff}
.hv-q{cursor:pointer}.hv-q.on{background:#0072B2;color:#fff}.hv-k{display:inline-flex;flex-direction:column;align-items:center}
.hv-w{font-size:10px;color:#333}#hv-text{color:#444;font-style:italic}
`;

/** The section's markup and its data; the script that drives it is HEAD_VIEW_SCRIPT. */
export function headViewHtml(view: HeadView): string {
  const options = view.sequences.map((s, i) => `<option value="${i}">${esc(s.title)}</option>`).join('');
  return `<section id="head-view"><h2>Head view</h2>
<p>Every head's attention on one sequence per point. Pick a layer and a head (or all heads of the layer, as thumbnails);
click or hover a query token to see its weights over the keys.</p>
<label>sequence<select id="hv-seq">${options}</select></label><label>layer<select id="hv-layer"></select></label><label>head<select id="hv-head"></select></label>
<p id="hv-text"></p><div id="hv-thumbs"></div>
<div><b>query</b><div id="hv-queries" class="hv-row"></div></div>
<div><b>keys</b> <span id="hv-picked"></span><div id="hv-keys" class="hv-row"></div></div>
<script type="application/json" id="hv-data">${scriptJson(view)}</script>
<script>${HEAD_VIEW_SCRIPT}</script></section>`;
}

/** Plain script in the page (no modules, no network): state in the selectors, redrawn on every change. */
export const HEAD_VIEW_SCRIPT = `
{
  const data = JSON.parse(document.getElementById('hv-data').textContent);
  const $ = (id) => document.getElementById(id);
  const [seqSel, layerSel, headSel] = [$('hv-seq'), $('hv-layer'), $('hv-head')];
  let query = null;
  const seq = () => data.sequences[Number(seqSel.value)];
  const options = (sel, n, label, all) => {
    const keep = sel.value;
    sel.innerHTML = (all ? '<option value="all">all heads</option>' : '') +
      Array.from({ length: n }, (_, i) => '<option value="' + i + '">' + label + i + '</option>').join('');
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  };
  const shade = (w) => 'rgba(0,114,178,' + Math.min(1, w).toFixed(3) + ')';
  function thumbs(s, layer) {
    const box = $('hv-thumbs');
    box.replaceChildren();
    if (headSel.value !== 'all') return;
    const t = s.tokens.length;
    s.maps[layer].forEach((map, h) => {
      const fig = document.createElement('figure');
      const c = document.createElement('canvas');
      c.width = c.height = t;
      const g = c.getContext('2d');
      map.forEach((w, i) => { g.fillStyle = shade(w); g.fillRect(i % t, Math.floor(i / t), 1, 1); });
      fig.append(c, 'L' + layer + 'H' + h);
      fig.dataset.head = String(h);
      fig.onclick = () => { headSel.value = String(h); draw(); };
      box.append(fig);
    });
  }
  function keys(s, layer) {
    const box = $('hv-keys');
    box.replaceChildren();
    const head = headSel.value === 'all' ? 0 : Number(headSel.value);
    if (query === null) { $('hv-picked').textContent = '(click a query token)'; return; }
    const t = s.tokens.length;
    $('hv-picked').textContent = 'of query ' + query + ' ' + s.tokens[query] + ', L' + layer + 'H' + head;
    s.tokens.forEach((tok, k) => {
      const w = s.maps[layer][head][query * t + k];
      const el = document.createElement('span');
      el.className = 'hv-k';
      el.dataset.k = String(k);
      el.dataset.w = String(w);
      el.style.background = shade(w);
      el.style.color = w > 0.6 ? '#fff' : '#000';
      el.title = 'key ' + k + ': ' + w.toFixed(4);
      const wEl = document.createElement('span');
      wEl.className = 'hv-w';
      wEl.textContent = w.toFixed(3);
      el.append(tok, wEl);
      box.append(el);
    });
  }
  function pick(q) {
    query = q;
    for (const b of document.querySelectorAll('.hv-q')) b.classList.toggle('on', Number(b.dataset.q) === q);
    keys(seq(), Number(layerSel.value || 0));
  }
  function draw() {
    const s = seq();
    options(layerSel, s.maps.length, 'layer ', false);
    const layer = Number(layerSel.value || 0);
    options(headSel, s.maps[layer].length, 'head ', true);
    $('hv-text').textContent = s.text ? 'text: ' + s.text : '';
    if (query !== null && query >= s.tokens.length) query = null;
    const qs = $('hv-queries');
    qs.replaceChildren(...s.tokens.map((tok, q) => {
      const b = document.createElement('button');
      b.className = 'hv-q' + (q === query ? ' on' : '');
      b.dataset.q = String(q);
      b.textContent = tok;
      b.title = 'query ' + q;
      b.onclick = b.onmouseenter = () => pick(q);
      return b;
    }));
    thumbs(s, layer);
    keys(s, layer);
  }
  for (const sel of [seqSel, layerSel, headSel]) sel.onchange = draw;
  draw();
}
`;
