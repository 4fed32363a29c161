// Builds the dashboard and publishing page into dist/web, which the node serves from its admin port.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  worker: { format: 'es' },
  build: { outDir: path.join(here, '..', 'dist', 'web'), emptyOutDir: true, target: 'es2022', sourcemap: true },
});
