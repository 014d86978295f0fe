/** looplens diagnose: recognise the mistakes that make "async" services slow, from a run's spans and samples. */
export { diagnose, diagnoseFolder, diagnoseLab, diagnoseRun, loadRunEvidence, writeFindings } from './diagnose.js';
export type { LabFindings, RunEvidence, StageFindings } from './diagnose.js';
export { KIND_LABELS, diffFindings, renderFindingsMarkdown, renderFindingsReport, renderLabFindingsMarkdown } from './render.js';
export type { RenderOptions } from './render.js';
export type { DiagnoseInput, Rule } from './rule.js';
export { RULES } from './rules/index.js';
export { buildRequests, spansFromJaeger, spansFromOtlp } from './spans.js';
export type { RequestTrace, Span } from './spans.js';
