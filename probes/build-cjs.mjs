// Builds dist/probes/preload.cjs, the CommonJS preload: the probes' own code and profiles/contract are bundled,
// packages from node_modules stay external (resolved from dist/probes/ at run time). Run after tsc (npm run build).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['probes/preload-cjs.ts'],
  outfile: 'dist/probes/preload.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // import.meta.url (used to resolve packages from the probes' folder) becomes this file's URL.
  define: { 'import.meta.url': '__looplensFileUrl' },
  banner: { js: "const __looplensFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
