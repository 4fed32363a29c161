/**
 * Serves the built web app (dashboard and publishing page, `web/` built by Vite into
 * dist/web) from the admin API port, so the page and the API share one origin.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CanopyError } from '../core/errors.js';
import type { Route, RouteContext } from './router.js';

/** dist/web seen from src/api (tsx) and from dist/api (built) alike. */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function sendFile({ req, res }: RouteContext, file: string, cache: string): void {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new CanopyError('ERR_CONTENT_NOT_FOUND', `${path.basename(file)} is not built: run "npm run build" (it builds the web app into dist/web)`);
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cache-control': cache });
  if (req.method === 'HEAD') return void res.end();
  // pipeline, not pipe: a read that fails (the file replaced by a rebuild meanwhile, a disk
  // error) ends this response; with pipe its 'error' had no listener and ended the process.
  pipeline(createReadStream(file), res, () => undefined);
}

export function webRoutes(dir: string = WEB_DIR): Route[] {
  const index = (ctx: RouteContext) => sendFile(ctx, path.join(dir, 'index.html'), 'no-cache');
  return [
    { method: 'GET', path: '/', summary: 'Dashboard', hidden: true, handler: index },
    { method: 'GET', path: '/publish', summary: 'Publishing page', hidden: true, handler: index },
    {
      method: 'GET',
      path: '/assets/*',
      summary: 'Built assets of the web app',
      hidden: true,
      handler: (ctx) => {
        const name = ctx.params['*']!;
        // Vite names assets with a content hash and no subdirectories; nothing else is served.
        if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw new CanopyError('ERR_CONTENT_NOT_FOUND', 'no such asset');
        sendFile(ctx, path.join(dir, 'assets', name), 'public, max-age=31536000, immutable');
      },
    },
  ];
}
