/**
 * A self-contained flamegraph page from folded stacks: no network, inline JS and CSS, an icicle chart on a canvas
 * (root on top), hover tooltip (samples, ms, % of total, % of zoom), click to zoom, search that highlights matches
 * and sums their share, and two filters that fold frames away: "hide node_modules / node: internals" and "app
 * frames only" (./model.ts). Frame names are untrusted: they travel as JSON data (with `<` escaped) and are only
 * ever drawn with fillText or set as textContent, never parsed as HTML.
 *
 * Differential mode (for `compare`): pass `base` folded stacks. The page draws either shape — head's widths
 * (Brendan Gregg's differential flamegraph: what head runs, coloured by change) or base's (his negated one: what
 * base ran, so code that shrank or vanished in head is drawn too) — with a toggle; each frame is coloured by the
 * change of its share of samples (red = more in head, deepest for new code; blue = less, deepest for vanished),
 * hover shows both sides, search sums matches on both sides, and a list names the functions that grew and shrank.
 */
import { buildFlameData, type FlameData } from './model.js';

export { buildFlameData, msPerSampleOf, type FlameData, type FlameNode } from './model.js';

export interface FlamegraphOptions {
  /** Folded stacks (`a;b;c 12` per line). */
  folded: string;
  title?: string;
  subtitle?: string;
  /** Base folded stacks: turns on differential mode. */
  base?: string;
  /** Label of the unit (default "samples"). */
  unit?: string;
  /** How the ms figures are had, for the legend (default: from the profile's mean sampling interval). */
  msNote?: string;
  /** Milliseconds per sample (head's, or the run's), from its profile.cpuprofile; without it, hover shows no ms. */
  msPerSample?: number;
  baseMsPerSample?: number;
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
input[type=search]{font:inherit;padding:4px 8px;border:1px solid #bbb;border-radius:4px;width:260px}
button{font:inherit;padding:4px 10px;border:1px solid #bbb;border-radius:4px;background:#f4f4f4;cursor:pointer}
button[aria-pressed=true]{background:#333;color:#fff;border-color:#333}.seg button{border-radius:0}.seg button:first-child{border-radius:4px 0 0 4px}
.seg button:last-child{border-radius:0 4px 4px 0;margin-left:-1px}label{white-space:nowrap}
#status{color:#555;margin-left:auto}#wrap{position:relative;padding:6px 14px}canvas{display:block;width:100%}
#tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #999;border-radius:4px;padding:6px 8px;max-width:640px;
box-shadow:0 2px 8px rgba(0,0,0,.2);display:none;white-space:pre-wrap;word-break:break-all;font-size:12px}
.legend{font-size:12px;color:#555}.empty{padding:40px;color:#666}#note{padding:4px 14px 0;color:#555;font-size:12px}
#changes{display:flex;gap:24px;padding:8px 14px;background:#fff;border-bottom:1px solid #ddd;font-size:12px;flex-wrap:wrap}
#changes ol{margin:4px 0 0;padding-left:20px}#changes li{cursor:pointer;word-break:break-all}#changes li:hover{text-decoration:underline}
#changes div{flex:1 1 420px;min-width:0}
`;

// The page script: plain ES2017, no dependencies. Reads #flame-data, draws on #fg.
const SCRIPT = String.raw`
(function(){
var data = JSON.parse(document.getElementById('flame-data').textContent);
var names = data.names, kinds = data.kinds, diff = data.baseTotal !== undefined;
var canvas = document.getElementById('fg'), ctx = canvas.getContext('2d');
var tip = document.getElementById('tip'), statusEl = document.getElementById('status'), noteEl = document.getElementById('note');
var search = document.getElementById('search'), fLib = document.getElementById('f-lib'), fApp = document.getElementById('f-app');
var ROW = 18, focus = null, matchRe = null, rects = [], shape = 'head', filter = 'all', parentCache = new Map();
function viewRoot(){ return filter === 'all' ? data.root : data.views[filter]; }
function parentsOf(root){
  var p = parentCache.get(root); if (p) return p;
  p = new Map(); (function walk(n){ (n.c||[]).forEach(function(k){ p.set(k,n); walk(k); }); })(root);
  parentCache.set(root, p); return p;
}
function val(n){ return shape === 'head' ? n.v : (n.b||0); }
function sideTotal(side){ return side === 'base' ? data.baseTotal : data.total; }
function hash(s){ var h=0; for(var i=0;i<s.length;i++){ h=(h*31+s.charCodeAt(i))|0; } return Math.abs(h); }
function matches(n){ return !!matchRe && n !== viewRoot() && matchRe.test(names[n.n]); }
function colour(node){
  if (matches(node)) return '#e040fb';
  var kind = kinds.charAt(node.n);
  if (diff) {
    if (node === viewRoot()) return 'hsl(30,20%,80%)';
    var b = node.b||0;
    if (node.v === 0 && b > 0) return 'hsl(220,85%,38%)'; // vanished in head
    if (b === 0 && node.v > 0) return 'hsl(0,85%,42%)';   // new in head
    var d = node.v/Math.max(1,data.total) - b/Math.max(1,data.baseTotal), m = Math.min(1, Math.abs(d)*20);
    if (Math.abs(d) < 0.0005) return '#dddddd';
    var light = Math.round(92 - 40*m);
    return d > 0 ? 'hsl(0,80%,'+light+'%)' : 'hsl(220,80%,'+light+'%)';
  }
  var h = hash(names[node.n]);
  if (kind === 'h') return 'hsl(30,20%,80%)';
  if (kind === 'n' || kind === 's') return 'hsl(0,0%,'+(72+h%12)+'%)';
  if (kind === 'd') return 'hsl('+(40+h%15)+',75%,'+(62+h%10)+'%)';
  return 'hsl('+(10+h%25)+',85%,'+(58+h%10)+'%)';
}
function pct(a,b){ return b ? (100*a/b).toFixed(2)+' %' : '–'; }
function msOf(samples, side){ var per = side === 'base' ? data.baseMsPerSample : data.msPerSample; return per === undefined ? null : samples*per; }
function fmtMs(x){ return (x >= 100 ? Math.round(x).toLocaleString() : x.toFixed(1)) + ' ms'; }
function sideText(samples, side){
  var m = msOf(samples, side);
  return samples.toLocaleString()+' ${'${UNIT}'}'+(m === null ? '' : ' · '+fmtMs(m))+' · '+pct(samples, sideTotal(side));
}
function matchTotals(){
  var h = 0, b = 0;
  (function walk(n){ if (matches(n)) { h += n.v; b += n.b||0; return; } (n.c||[]).forEach(walk); })(viewRoot());
  return { h: h, b: b };
}
/** Samples of the other side that the current shape cannot draw (stacks this side never ran). */
function undrawable(){
  var other = 0;
  (function walk(n){ (n.c||[]).forEach(function(k){ var here = val(k), there = shape === 'head' ? (k.b||0) : k.v; if (here === 0) other += there; else walk(k); }); })(viewRoot());
  return other;
}
function draw(){
  var width = canvas.parentNode.clientWidth - 28, dpr = window.devicePixelRatio||1;
  if (focus && val(focus) === 0) focus = null;
  var base = viewRoot(), root = focus || base, parentOf = parentsOf(base), chain = [];
  for (var p = parentOf.get(root); p; p = parentOf.get(p)) chain.unshift(p);
  var depth = 0; (function d(n,k){ if (k > depth) depth = k; (n.c||[]).forEach(function(c){ if (val(c) > 0) d(c,k+1); }); })(root,1);
  var rows = chain.length + depth;
  canvas.style.height = (rows*ROW)+'px'; canvas.width = width*dpr; canvas.height = rows*ROW*dpr;
  canvas.style.width = width+'px';
  ctx.setTransform(dpr,0,0,dpr,0,0); ctx.font = '12px system-ui,sans-serif'; ctx.textBaseline = 'middle';
  rects = [];
  chain.forEach(function(n,i){ box(n, 0, width, i, true); });
  (function walk(n, x, w, row){
    box(n, x, w, row, false);
    var cx = x, total = Math.max(1, val(n));
    (n.c||[]).forEach(function(k){ var v = val(k); if (v === 0) return; var kw = w*v/total; if (kw >= 0.5) walk(k, cx, kw, row+1); cx += kw; });
  })(root, 0, width, chain.length);
  var side = shape, t = sideTotal(side), m = msOf(t, side);
  var text = (diff ? shape+' shape — ' : '') + (focus ? 'zoomed: '+names[focus.n]+' — ' : '') + t.toLocaleString()+' ${'${UNIT}'}' + (m === null ? '' : ' ('+fmtMs(m)+')');
  if (matchRe) {
    var mt = matchTotals();
    text += diff ? ' — matches: head '+pct(mt.h, data.total)+' · base '+pct(mt.b, data.baseTotal) : ' — matches: '+pct(mt.h, data.total) + (msOf(mt.h,'head') === null ? '' : ' ('+fmtMs(msOf(mt.h,'head'))+')');
  }
  statusEl.textContent = text;
  if (noteEl) {
    var hidden = diff ? undrawable() : 0;
    noteEl.textContent = !hidden ? '' : shape === 'head'
      ? pct(hidden, data.baseTotal)+' of base samples are in stacks head never ran: the base shape draws them (blue).'
      : pct(hidden, data.total)+' of head samples are in stacks base never ran (new code): the head shape draws them (red).';
  }
}
function box(n, x, w, row, dim){
  var y = row*ROW;
  ctx.fillStyle = colour(n); ctx.globalAlpha = dim ? 0.55 : 1;
  ctx.fillRect(x, y, Math.max(0.5, w-0.5), ROW-1); ctx.globalAlpha = 1;
  if (w > 30) { var dark = diff && (n.v === 0 || !n.b) && n !== viewRoot(); ctx.fillStyle = dark ? '#fff' : '#111'; ctx.save(); ctx.beginPath(); ctx.rect(x, y, w-2, ROW); ctx.clip();
    ctx.fillText(names[n.n], x+3, y+ROW/2); ctx.restore(); }
  rects.push({x:x, y:y, w:w, n:n});
}
function hit(ev){
  var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
  for (var i = rects.length-1; i >= 0; i--) { var b = rects[i]; if (x>=b.x && x<b.x+b.w && y>=b.y && y<b.y+ROW) return b.n; }
  return null;
}
function describe(n){
  var lines = [names[n.n]];
  if (!diff) {
    lines.push(sideText(n.v, 'head') + ' of all' + (focus ? ', '+pct(n.v, focus.v)+' of zoom' : ''));
    return lines;
  }
  var b = n.b||0, d = (n.v/Math.max(1,data.total) - b/Math.max(1,data.baseTotal))*100;
  lines.push('head: '+sideText(n.v, 'head'), 'base: '+sideText(b, 'base'));
  lines.push(n.v === 0 && b > 0 ? 'vanished in head (was '+pct(b, data.baseTotal)+' of base)'
    : b === 0 && n.v > 0 ? 'new in head' : 'change of share: '+(d > 0 ? '+' : '')+d.toFixed(2)+' points' + (Math.abs(d) < 0.05 ? '' : d > 0 ? ' (grew)' : ' (shrank)'));
  if (focus) lines.push(pct(val(n), val(focus))+' of zoom');
  return lines;
}
canvas.addEventListener('mousemove', function(ev){
  var n = hit(ev); if (!n) { tip.style.display='none'; return; }
  tip.textContent = describe(n).join('\n'); tip.style.display='block';
  tip.style.left = Math.min(ev.clientX+12, window.innerWidth-660)+'px'; tip.style.top = (ev.clientY+14)+'px';
});
canvas.addEventListener('mouseleave', function(){ tip.style.display='none'; });
canvas.addEventListener('click', function(ev){ var n = hit(ev); if (!n) return; focus = (n === viewRoot()) ? null : n; draw(); });
document.getElementById('reset').addEventListener('click', function(){ focus = null; search.value=''; matchRe=null; draw(); });
function setQuery(q){
  q = q.trim();
  try { matchRe = q ? new RegExp(q.replace(/[.*+?^$()|[\]\\{}]/g,'\\$&'), 'i') : null; } catch(e) { matchRe = null; }
  draw();
}
search.addEventListener('input', function(){ setQuery(search.value); });
function setFilter(){ filter = fApp.checked ? 'app' : fLib.checked ? 'lib' : 'all'; focus = null; draw(); listChanges(); }
fLib.addEventListener('change', setFilter); fApp.addEventListener('change', setFilter);
function setShape(s){
  shape = s;
  ['head','base'].forEach(function(x){ var b = document.getElementById('shape-'+x); if (b) b.setAttribute('aria-pressed', String(x === s)); });
  draw();
}
if (diff) {
  document.getElementById('shape-head').addEventListener('click', function(){ setShape('head'); });
  document.getElementById('shape-base').addEventListener('click', function(){ setShape('base'); });
}
function listChanges(){
  if (!diff || !data.changes) return;
  var changes = data.changes[filter];
  [['grew', changes.grew], ['shrank', changes.shrank]].forEach(function(pair){
    var ol = document.getElementById(pair[0]); ol.textContent = '';
    var shown = pair[1];
    if (!shown.length) { var li = document.createElement('li'); li.textContent = 'none beyond 0.1 point'; ol.appendChild(li); return; }
    shown.forEach(function(c){
      var li = document.createElement('li'), word = {new:'new', vanished:'vanished', grew:'grew', shrank:'shrank'}[c.status];
      var bm = msOf(c.baseSamples, 'base'), hm = msOf(c.headSamples, 'head');
      li.textContent = names[c.n]+' — '+word+': base '+(100*c.base).toFixed(2)+' %'+(bm === null ? '' : ' ('+fmtMs(bm)+')')+' → head '+(100*c.head).toFixed(2)+' %'+(hm === null ? '' : ' ('+fmtMs(hm)+')');
      li.title = 'search for it';
      li.addEventListener('click', function(){ search.value = names[c.n]; setQuery(names[c.n]); });
      ol.appendChild(li);
    });
  });
}
window.addEventListener('resize', draw);
if (!data.total && !data.baseTotal) { document.getElementById('wrap').innerHTML = '<div class="empty">No samples.</div>'; return; }
listChanges();
draw();
})();
`;

export function renderFlamegraphHtml(options: FlamegraphOptions): string {
  const data: FlameData = buildFlameData(options.folded, options.base, { msPerSample: options.msPerSample, baseMsPerSample: options.baseMsPerSample });
  const diff = options.base !== undefined;
  const title = options.title ?? 'Flamegraph';
  const unit = options.unit ?? 'samples';
  const msNote = options.msNote !== undefined
    ? `; ${options.msNote}`
    : diff
    ? options.msPerSample === undefined || options.baseMsPerSample === undefined
      ? `; ms unknown for ${options.msPerSample === undefined && options.baseMsPerSample === undefined ? 'both sides' : options.msPerSample === undefined ? 'head' : 'base'} (no profile.cpuprofile to time a sample)`
      : '; ms = samples × the profile\'s mean sampling interval'
    : options.msPerSample === undefined
      ? '; ms unknown (no profile.cpuprofile to time a sample)'
      : '; ms = samples × the profile\'s mean sampling interval';
  const legend = diff
    ? `red = larger share in head (deepest: new), blue = smaller (deepest: vanished), grey = same${msNote}`
    : `orange = app code, yellow = node_modules, grey = Node/V8${msNote}`;
  const shapeButtons = diff
    ? `<span class="seg" role="group" aria-label="shape"><button id="shape-head" type="button" aria-pressed="true">head shape</button><button id="shape-base" type="button" aria-pressed="false">base shape</button></span>`
    : '';
  const changes = diff
    ? `<section id="changes"><div><b>Grew or new in head</b> (share of each side's samples, with callees)<ol id="grew"></ol></div><div><b>Shrank or vanished in head</b><ol id="shrank"></ol></div></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(title)}</h1>${options.subtitle ? `<span class="sub">${escapeHtml(options.subtitle)}</span>` : ''}
${shapeButtons}<label><input id="f-lib" type="checkbox"> hide node_modules / node: internals</label><label><input id="f-app" type="checkbox"> app frames only</label>
<input id="search" type="search" placeholder="search frames (e.g. a function or file)" aria-label="search frames">
<button id="reset" type="button">reset zoom</button><span class="legend">${escapeHtml(legend)}</span><span id="status"></span></header>
${changes}<div id="note"></div><div id="wrap"><canvas id="fg"></canvas></div><div id="tip"></div>
<script type="application/json" id="flame-data">${scriptJson(data)}</script>
<script>${SCRIPT.replace(/\$\{UNIT\}/g, escapeJsString(unit))}</script>
</body></html>
`;
}

function escapeJsString(s: string): string {
  return s.replace(/[^\p{L}0-9 _-]/gu, '');
}
