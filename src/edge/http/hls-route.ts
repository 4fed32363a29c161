/**
 * GET /hls/<id or name>/index.m3u8: an HLS playlist whose segments are byte ranges of
 * /content/<id>. Playlists are computed once per content and kept (contents are immutable).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Manifest } from '../../core/manifest.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';
import { renderPlaylist } from '../hls/playlist.js';
import { segmentContent } from '../hls/segmenter.js';

const cache = new Map<string, Promise<string>>();
const MAX_CACHED = 256;

export async function servePlaylist(req: IncomingMessage, res: ServerResponse, contentId: string, manifest: Manifest, file: VirtualFile): Promise<void> {
  let text = cache.get(contentId);
  if (!text) {
    text = segmentContent(file, `/content/${contentId}/${encodeURIComponent(manifest.name)}`).then(renderPlaylist);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(contentId, text);
    text.catch(() => cache.delete(contentId));
  }
  const body = Buffer.from(await text, 'utf8');
  res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'content-length': body.length, etag: `"${contentId}-m3u8"`, 'cache-control': 'public, max-age=31536000, immutable' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
