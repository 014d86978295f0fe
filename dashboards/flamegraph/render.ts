/**
 * A self-contained flamegraph page from folded stacks: no network, inline JS and CSS, an icicle chart on a canvas
 * (root on top), hover tooltip (samples, % of total, % of zoom), click to zoom, search that highlights matches.
 * Frame names are untrusted: they travel as JSON data (with `<` escaped) and are only ever drawn with fillText or
 * set as textContent, never parsed as HTML.
 *
 * Differential mode (for `compare`): pass `base` folded stacks; the chart keeps the head's shape and colours each
 * frame by the change of its share of samples: red = more in head, blue = less.
 */

export interface FlameNode {
  /** Index into `names`. */
  n: number;
  /** Samples (inclusive). */
  v: number;
  /** Inclusive samples of the same stack in the base (differential mode). */
  b?: number;
  c?: FlameNode[];
}

export interface FlameData {
  names: string[];
  root: FlameNode;
  total: number;
  baseTotal?: number;
}

export interface FlamegraphOptions {
  /** Folded stacks (`a;b;c 12` per line). */
  folded: string;
  title?: string;
  subtitle?: string;
  /** Base folded stacks: turns on differential colouring. */
  base?: string;
  /** Label of the unit (default "samples"). */
  unit?: string;
}

interface MutableNode {
  name: string;
  v: number;
  b: number;
  children: Map<string, MutableNode>;
}

function parse(text: string): [string[], number][] {
  const out: [string[], number][] = [];
  for (const line of text.split('\n')) {
    const m = /^([\s\S]*) (\d+)$/.exec(line.trimEnd());
    if (!m || !m[1]) continue;
    out.push([m[1].split(';'), Number(m[2])]);
  }
  return out;
}

/** Builds the tree the page draws (also useful for tests and for diff tooling). */
export function buildFlameData(folded: string, base?: string): FlameData {
  const root: MutableNode = { name: 'all', v: 0, b: 0, children: new Map() };
  for (const [frames, count] of parse(folded)) {
    let node = root;
    node.v += count;
    for (const f of frames) {
      let child = node.children.get(f);
      if (!child) {
        child = { name: f, v: 0, b: 0, children: new Map() };
        node.children.set(f, child);
      }
      child.v += count;
      node = child;
    }
  }
  let baseTotal: number | undefined;
  if (base !== undefined) {
    baseTotal = 0;
    for (const [frames, count] of parse(base)) {
      baseTotal += count;
      root.b += count;
      let node: MutableNode | undefined = root;
      for (const f of frames) {
        node = node.children.get(f);
        if (!node) break;
        node.b += count;
      }
    }
  }
  const names: string[] = [];
  const index = new Map<string, number>();
  const convert = (m: MutableNode): FlameNode => {
    let i = index.get(m.name);
    if (i === undefined) {
      i = names.length;
      names.push(m.name);
      index.set(m.name, i);
    }
    const node: FlameNode = { n: i, v: m.v };
    if (base !== undefined) node.b = m.b;
    const kids = [...m.children.values()].sort((a, b) => b.v - a.v).map(convert);
    if (kids.length) node.c = kids;
    return node;
  };
  return { names, root: convert(root), total: root.v, ...(baseTotal !== undefined ? { baseTotal } : {}) };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON safe inside a <script> element: no `</script>`, no HTML comment openers, no JS line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;background:#fafafa}
header{padding:10px 14px;display:flex;gap:12px;align-items:center;flex-wrap:wrap;border-bottom:1px solid #ddd;background:#fff}
h1{font-size:16px;margin:0}.sub{color:#666}
input{font:inherit;padding:4px 8px;border:1px solid #bbb;border-radius:4px;width:260px}
button{font:inherit;padding:4px 10px;border:1px solid #bbb;border-radius:4px;background:#f4f4f4;cursor:pointer}
#status{color:#555;margin-left:auto}#wrap{position:relative;padding:6px 14px}canvas{display:block;width:100%}
#tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #999;border-radius:4px;padding:6px 8px;max-width:640px;
box-shadow:0 2px 8px rgba(0,0,0,.2);display:none;white-space:pre-wrap;word-break:break-all;font-size:12px}
.legend{font-size:12px;color:#555}.empty{padding:40px;color:#666}
`;

// The page script: plain ES2017, no dependencies. Reads #flame-data, draws on #fg.
const SCRIPT = String.raw`
(function(){
var data = JSON.parse(document.getElementById('flame-data').textContent);
var names = data.names, total = data.total, diff = data.baseTotal !== undefined;
var canvas = document.getElementById('fg'), ctx = canvas.getContext('2d');
var tip = document.getElementById('tip'), statusEl = document.getElementById('status');
var search = document.getElementById('search');
var ROW = 18, focus = null, matchRe = null, rects = [];
function parents(root){ var p = new Map(); (function walk(n){ (n.c||[]).forEach(function(k){ p.set(k,n); walk(k); }); })(root); return p; }
var parentOf = parents(data.root);
function depthOf(root){ var d=0; (function walk(n,k){ if(k>d)d=k; (n.c||[]).forEach(function(c){walk(c,k+1);}); })(root,1); return d; }
function hash(s){ var h=0; for(var i=0;i<s.length;i++){ h=(h*31+s.charCodeAt(i))|0; } return Math.abs(h); }
function colour(node){
  var name = names[node.n];
  if (matchRe && matchRe.test(name)) return '#e040fb';
  if (diff) {
    var head = node.v/Math.max(1,total), base = (node.b||0)/Math.max(1,data.baseTotal);
    var d = head - base, m = Math.min(1, Math.abs(d)*20);
    if (Math.abs(d) < 0.0005) return '#dddddd';
    var light = Math.round(92 - 45*m);
    return d > 0 ? 'hsl(0,80%,'+light+'%)' : 'hsl(220,80%,'+light+'%)';
  }
  var h = hash(name), m = / \(([^()]*:\d+)\)$/.exec(name), file = m ? m[1] : '';
  if (node === data.root) return 'hsl(30,20%,80%)';
  if (!file || file.indexOf('node:') === 0 || file.indexOf('internal/') === 0) return 'hsl(0,0%,'+(72+h%12)+'%)';
  if (file.indexOf('node_modules') >= 0) return 'hsl('+(40+h%15)+',75%,'+(62+h%10)+'%)';
  return 'hsl('+(10+h%25)+',85%,'+(58+h%10)+'%)';
}
function pct(a,b){ return b ? (100*a/b).toFixed(2)+' %' : '–'; }
function draw(){
  var width = canvas.parentNode.clientWidth - 28, dpr = window.devicePixelRatio||1;
  var root = focus || data.root, chain = [];
  for (var p = parentOf.get(root); p; p = parentOf.get(p)) chain.unshift(p);
  var rows = chain.length + depthOf(root);
  canvas.style.height = (rows*ROW)+'px'; canvas.width = width*dpr; canvas.height = rows*ROW*dpr;
  canvas.style.width = width+'px';
  ctx.setTransform(dpr,0,0,dpr,0,0); ctx.font = '12px system-ui,sans-serif'; ctx.textBaseline = 'middle';
  rects = []; var matched = 0;
  chain.forEach(function(n,i){ box(n, 0, width, i, true); });
  (function walk(n, x, w, row){
    box(n, x, w, row, false);
    if (matchRe && matchRe.test(names[n.n]) && n !== data.root) matched += selfMatchValue(n);
    var cx = x;
    (n.c||[]).forEach(function(k){ var kw = w*k.v/Math.max(1,n.v); if (kw >= 0.5) walk(k, cx, kw, row+1); cx += kw; });
  })(root, 0, width, chain.length);
  statusEl.textContent = (focus ? 'zoomed: '+names[focus.n]+' — ' : '') + total.toLocaleString()+' ${'${UNIT}'}' +
    (matchRe ? ' — matches: '+pct(matched,total) : '');
}
function selfMatchValue(n){ // count a matching frame once, not again for matching descendants
  for (var p = parentOf.get(n); p; p = parentOf.get(p)) if (matchRe.test(names[p.n])) return 0;
  return n.v;
}
function box(n, x, w, row, dim){
  var y = row*ROW;
  ctx.fillStyle = colour(n); ctx.globalAlpha = dim ? 0.55 : 1;
  ctx.fillRect(x, y, Math.max(0.5, w-0.5), ROW-1); ctx.globalAlpha = 1;
  if (w > 30) { ctx.fillStyle = '#111'; ctx.save(); ctx.beginPath(); ctx.rect(x, y, w-2, ROW); ctx.clip();
    ctx.fillText(names[n.n], x+3, y+ROW/2); ctx.restore(); }
  rects.push({x:x, y:y, w:w, n:n});
}
function hit(ev){
  var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
  for (var i = rects.length-1; i >= 0; i--) { var b = rects[i]; if (x>=b.x && x<b.x+b.w && y>=b.y && y<b.y+ROW) return b.n; }
  return null;
}
canvas.addEventListener('mousemove', function(ev){
  var n = hit(ev); if (!n) { tip.style.display='none'; return; }
  var zoomTotal = (focus||data.root).v, lines = [names[n.n], n.v.toLocaleString()+' ${'${UNIT}'}, '+pct(n.v,total)+' of all'+(focus ? ', '+pct(n.v,zoomTotal)+' of zoom' : '')];
  if (diff) lines.push('base: '+(n.b||0).toLocaleString()+' ('+pct(n.b||0,data.baseTotal)+'), change of share: '+((n.v/Math.max(1,total)-(n.b||0)/Math.max(1,data.baseTotal))*100).toFixed(2)+' points');
  tip.textContent = lines.join('\n'); tip.style.display='block';
  tip.style.left = Math.min(ev.clientX+12, window.innerWidth-660)+'px'; tip.style.top = (ev.clientY+14)+'px';
});
canvas.addEventListener('mouseleave', function(){ tip.style.display='none'; });
canvas.addEventListener('click', function(ev){ var n = hit(ev); if (!n) return; focus = (n === data.root) ? null : n; draw(); });
document.getElementById('reset').addEventListener('click', function(){ focus = null; search.value=''; matchRe=null; draw(); });
search.addEventListener('input', function(){
  var q = search.value.trim();
  try { matchRe = q ? new RegExp(q.replace(/[.*+?^$()|[\]\\{}]/g,'\\$&'), 'i') : null; } catch(e) { matchRe = null; }
  draw();
});
window.addEventListener('resize', draw);
if (!total) { document.getElementById('wrap').innerHTML = '<div class="empty">No samples.</div>'; return; }
draw();
})();
`;

export function renderFlamegraphHtml(options: FlamegraphOptions): string {
  const data = buildFlameData(options.folded, options.base);
  const title = options.title ?? 'Flamegraph';
  const unit = options.unit ?? 'samples';
  const legend = options.base !== undefined ? 'red = larger share in head, blue = smaller; shape = head' : 'orange = app code, yellow = node_modules, grey = Node/V8';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(title)}</h1>${options.subtitle ? `<span class="sub">${escapeHtml(options.subtitle)}</span>` : ''}
<input id="search" type="search" placeholder="search frames (e.g. a function or file)" aria-label="search frames">
<button id="reset" type="button">reset zoom</button><span class="legend">${escapeHtml(legend)}</span><span id="status"></span></header>
<div id="wrap"><canvas id="fg"></canvas></div><div id="tip"></div>
<script type="application/json" id="flame-data">${scriptJson(data)}</script>
<script>${SCRIPT.replace(/\$\{UNIT\}/g, escapeJsString(unit))}</script>
</body></html>
`;
}

function escapeJsString(s: string): string {
  return s.replace(/[^A-Za-z0-9 _-]/g, '');
}
