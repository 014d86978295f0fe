/** Stage colours (the same stage has the same colour on every page) and the report's stylesheet. */

/** Okabe–Ito based: distinguishable with the common colour-vision deficiencies. Red is kept for blocking. */
const KNOWN_STAGES: Record<string, string> = {
  baseline: '#d55e00',
  'async-db': '#e69f00',
  parallel: '#0072b2',
  pooled: '#56b4e9',
  cached: '#009e73',
};
const SPARE = ['#cc79a7', '#7f6a3a', '#6f5bd6', '#2aa198', '#8a8f98', '#b58900'];

/** A stable colour per stage name: fixed for target-app's stages, by position for others. */
export function stageColor(stage: string, index = 0): string {
  return KNOWN_STAGES[stage] ?? SPARE[index % SPARE.length];
}

export const BLOCK_COLOR = '#e03131';
/** A span whose status is error: near-black, so it never reads as the loop blocked (red). */
export const ERROR_COLOR = '#212529';
/** Waiting behind another request's block. */
export const WAIT_COLOR = '#bf8700';

export const CATEGORY_COLORS = {
  server: '#4c6ef5',
  db: '#9c36b5',
  cache: '#0c8599',
  client: '#e67700',
  internal: '#868e96',
} as const;

export const PERCENTILE_SHADES = ['#74c0fc', '#339af0', '#1864ab'];

export const CSS = `
:root{--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--soft:#f6f8fa;--accent:#0969da;--bad:${BLOCK_COLOR};--good:#1a7f37;--bg:#fff}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.5 var(--sans);color:var(--fg);background:var(--bg)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{padding:18px 28px 14px;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .crumbs{font-size:12px;color:var(--muted);margin-bottom:2px}
header.top h1{font-size:22px;margin:0 0 6px;font-weight:600;letter-spacing:-.01em;word-break:break-all}
.meta{display:flex;flex-wrap:wrap;gap:4px 18px;color:var(--muted);font-size:13px}
.meta b{color:var(--fg);font-weight:500}
section[id],.wf[id]{scroll-margin-top:64px}
nav.toc{position:sticky;top:0;z-index:2;background:rgba(255,255,255,.95);border-bottom:1px solid var(--line);padding:8px 28px;display:flex;gap:18px;flex-wrap:wrap;font-size:13px}
main{padding:8px 28px 48px;max-width:1400px}
section{margin-top:26px}
h2{font-size:17px;margin:0 0 4px;font-weight:600;padding-top:4px}
h3{font-size:14px;margin:18px 0 6px;font-weight:600}
p.lead{margin:0 0 12px;color:var(--muted);font-size:13px;max-width:900px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:500;border:1px solid}
.badge.ok{color:var(--good);border-color:#aceebb;background:#dafbe1}
.badge.warn{color:#9a6700;border-color:#f5e0a0;background:#fff8c5}
.badge.bad{color:#cf222e;border-color:#ffcecb;background:#ffebe9}
.notes{margin:10px 0 0;padding:8px 12px;border-left:3px solid #d4a72c;background:#fff8c5;font-size:13px;list-style:none}
.notes li{margin:2px 0;word-break:break-word}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;background:var(--soft);white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:hover{background:#f6f8fa}
tr.group td{background:#fbfbfc;font-weight:600;border-top:2px solid var(--line)}
.ratio{color:var(--muted);font-size:11px;margin-left:4px}
.ratio.better{color:var(--good)}.ratio.worse{color:var(--bad)}
code,.mono{font-family:var(--mono);font-size:12px}
td.fn{max-width:420px;word-break:break-all}
td.nw{white-space:nowrap}
td.route{max-width:320px}
code.rt{word-break:normal;overflow-wrap:normal}
.chip{display:inline-flex;align-items:center;gap:6px;white-space:nowrap}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;flex:none}
.legend{display:flex;gap:14px;flex-wrap:wrap;margin:4px 0 8px;font-size:12px;color:var(--muted)}
.lg{display:inline-flex;align-items:center;gap:5px;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:14px 22px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fff;max-width:100%;overflow-x:auto}
svg.chart{display:block;max-width:100%;height:auto}
svg .ct{font-size:13px;font-weight:600;fill:var(--fg)}
svg .cu,svg .cs{font-size:11px;fill:var(--muted);font-weight:400}
svg .tick{font-size:10px;fill:var(--muted)}
svg .cl{font-size:11px;fill:var(--fg);font-family:var(--mono)}
svg .bv{font-size:10.5px;fill:var(--fg)}
svg .na{font-size:10.5px;fill:var(--muted);font-style:italic}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .wl{font-size:11px;fill:var(--fg);font-family:var(--mono)}
svg .ws{fill:var(--muted)}
svg .wd{font-size:10px;fill:var(--muted)}
svg .blk{fill:${BLOCK_COLOR};fill-opacity:.22;stroke:${BLOCK_COLOR};stroke-width:1}
svg .blt{fill:${BLOCK_COLOR}}
svg .wtd{fill:${WAIT_COLOR};fill-opacity:.14;stroke:${WAIT_COLOR};stroke-width:1;stroke-dasharray:3 2}
svg .wtt{fill:${WAIT_COLOR}}
svg .wu{fill:#8c959f;fill-opacity:.10}
svg .wul{font-size:10px;fill:var(--muted)}
svg .wum{stroke:#8c959f;stroke-width:1;stroke-dasharray:4 3}
svg .nr{fill:${BLOCK_COLOR}}
ol.verdict{list-style:none;padding:0;margin:8px 0 16px}
ol.verdict li{display:flex;gap:10px;padding:8px 10px;border:1px solid var(--line);border-radius:6px;margin:6px 0;background:var(--soft)}
ol.verdict .rank{font-weight:700;color:var(--muted);min-width:1.2em}
ol.verdict .sub{color:var(--muted);font-size:12.5px;margin-top:2px}
.ok-line{color:var(--good)}
ul.blocks li.waited{color:var(--muted)}
svg .rowbg{fill:#f6f8fa}
details{border:1px solid var(--line);border-radius:6px;margin:8px 0;background:#fff}
details>summary{cursor:pointer;padding:8px 12px;font-weight:600;list-style-position:inside}
details[open]>summary{border-bottom:1px solid var(--line)}
details .inner{padding:8px 12px}
.wf{margin:6px 0 18px}
.wf h4{margin:8px 0 2px;font-size:13px;font-family:var(--mono);font-weight:600}
.wf .sub{font-size:12px;color:var(--muted);margin-bottom:4px}
.blocks{margin:2px 0 0;padding-left:18px;font-size:12px}
.blocks li{word-break:break-all}
.blocks .ms{color:var(--bad);font-weight:600}
.totals{margin:0 0 8px;padding-left:18px;font-size:13px}
b.bad{color:var(--bad)}
b.warn{color:#9a6700}
.caller{color:var(--muted);font-size:11px}
.flrow{display:flex;flex-wrap:wrap;align-items:center;gap:4px 22px;margin:6px 0}
.flrow .chip{min-width:110px;font-weight:600}
.flrow .fl{font-size:13px;white-space:nowrap}
iframe.flame{margin-top:12px;width:100%;height:520px;border:1px solid var(--line);border-radius:4px;background:#fff}
.empty{color:var(--muted);font-style:italic}
td.evidence{font-size:12px;white-space:nowrap}
td.evidence details{margin:4px 0;white-space:normal}
td.evidence details>summary{padding:2px 6px;font-weight:400}
td.evidence pre{margin:0;padding:4px 6px;max-width:420px;max-height:240px;overflow:auto;white-space:pre-wrap;word-break:break-all;font-size:11px}
footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
`;
