/** looplens compare as a library: pure diffs of run folders, the gate, and the renderers. */
export * from './change.js';
export * from './metrics.js';
export * from './folded.js';
export * from './summary-diff.js';
export * from './blocking-diff.js';
export * from './findings-diff.js';
export * from './gate.js';
export * from './compare.js';
export * from './markdown.js';
export * from './json.js';
export * from './run.js';
