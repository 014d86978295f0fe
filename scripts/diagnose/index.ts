/** looplens diagnose: recognise the mistakes that make "async" services slow, from a run's evidence. */
export { diagnose, diagnoseFolder, diagnoseLab, diagnoseRun, evidenceOf, findingsOf, writeFindings } from './diagnose.js';
export type { LabFindings, StageFindings } from './diagnose.js';
export { KIND_LABELS, diffFindings, renderFindingsMarkdown, renderFindingsReport, renderLabFindingsMarkdown } from './render.js';
export type { RenderOptions } from './render.js';
export type { Rule } from './rule.js';
export { RULES } from './rules/index.js';
