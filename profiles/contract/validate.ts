/** Schema validation of run-folder files; returns a one-line problem or null. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { blockingSchema, labSchema, listenSchema, loadSchema, runInfoSchema, sourceMapsSchema, summarySchema } from './schemas.js';

const ajv = new Ajv2020({ allErrors: false, strict: false });
const compiled = {
  summary: ajv.compile(summarySchema),
  blocking: ajv.compile(blockingSchema),
  run: ajv.compile(runInfoSchema),
  lab: ajv.compile(labSchema),
  load: ajv.compile(loadSchema),
  listen: ajv.compile(listenSchema),
  sourceMaps: ajv.compile(sourceMapsSchema),
};

function check(fn: (typeof compiled)[keyof typeof compiled], value: unknown): string | null {
  if (fn(value)) return null;
  const e = fn.errors?.[0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'invalid';
}

export const validateSummary = (v: unknown) => check(compiled.summary, v);
export const validateBlocking = (v: unknown) => check(compiled.blocking, v);
export const validateRunInfo = (v: unknown) => check(compiled.run, v);
export const validateLab = (v: unknown) => check(compiled.lab, v);
export const validateLoad = (v: unknown) => check(compiled.load, v);
export const validateListen = (v: unknown) => check(compiled.listen, v);
export const validateSourceMaps = (v: unknown) => check(compiled.sourceMaps, v);
