export * from './types.js';
export * from './errors.js';
export * from './read.js';
export * from './write.js';
export * from './validate.js';
export { SCHEMA_FILES } from './schemas.js';
