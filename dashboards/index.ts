/**
 * The dashboards' library API (the CLI's `report` and `serve` commands are thin shells over it).
 *   writeReport({ folders?, out?, profilesDir? }) → { index, pages, warnings }   files on disk
 *   loadRun(dir) / loadLab(dir) → model; renderRunPage / renderLabPage / renderIndex → HTML strings (pure)
 *   serveReport({ root, port? }) → { url, close }   loopback static server
 *   buildWaterfalls(evidence)                       the slowest request per route, its blocks and what it waited behind
 *   EMITTED_METRICS / prometheusSeries              the OTel metrics the Grafana dashboard may query
 */
export { writeReport, type ReportOptions, type ReportPage, type ReportResult } from './report/write.js';
export { loadRun, loadLab, loadFolder, indexEntry, scanFolders, type RunModel, type LabModel, type LabStageModel, type IndexEntry } from './report/model.js';
export { renderRunPage, renderLabPage, renderIndex, CSP, type RenderLinks, type IndexItem } from './report/render.js';
export { serveReport, type ServeOptions, type RunningServer } from './report/serve.js';
export { buildWaterfalls, type Waterfall } from './report/waterfall.js';
export { esc, html, raw, jsonForScript, relHref } from './report/escape.js';
export { EMITTED_METRICS, prometheusSeries, prometheusIndex, prom, type EmittedMetric } from './grafana/metrics.js';
