/**
 * The mirror serving a blob it followed: the content was published moments ago and the swarm
 * is still bringing its blocks, so a first block that does not come in time means "look
 * again" (the client keeps waiting), not 404; a read that fails mid-body resumes. A real
 * HTTP server on loopback; the content's file and the root are scripted.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CanopyError } from '../../../src/core/errors.js';
import { serveDistribution, type DistributionDeps } from '../../../src/edge/oci/distribution.js';
import type { FoundBlob, ImageFinder } from '../../../src/edge/oci/image-finder.js';
import { plain, type VirtualFile } from '../../../src/vfile/virtual-file.js';

const bytes = Buffer.alloc(3000, 7);
const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

test('a followed blob whose first block is late is looked for again, and a mid-body failure resumes', async () => {
  let reads = 0;
  const opened: number[] = [];
  const file = {
    canServe: () => true,
    async *slices(start: number, end: number) {
      opened.push(start);
      reads++;
      // First look: the first block is not here in time. Second: half, then a passing failure. Then the rest.
      if (reads === 1) throw new CanopyError('ERR_TIMEOUT', 'block 0 could not be fetched in time');
      if (reads === 2) {
        yield plain(bytes.subarray(start, 1000));
        throw new CanopyError('ERR_CONNECTION_CLOSED', 'download stopped');
      }
      yield plain(bytes.subarray(start, end + 1));
    },
  } as unknown as VirtualFile;
  let looks = 0;
  const found = { contentId: 'c', blob: { digest, mediaType: 'application/octet-stream', size: bytes.length, offset: 0, manifest: false } } as FoundBlob;
  const images = { byDigest: async () => (looks++ === 0 ? undefined : found), byTag: async () => undefined } as unknown as ImageFinder;
  const deps: DistributionDeps = {
    images,
    synced: () => true,
    isLive: () => true,
    open: () => file,
    pull: async () => ({ answer: { status: 200, follow: true, digest, size: bytes.length, done: false }, payload: Buffer.alloc(0) }),
  };
  const server = createServer((req, res) => void serveDistribution(deps, req, res, new URL(req.url!, 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/team/app/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
    assert.deepEqual(opened, [0, 0, 1000], 'looked again after the late first block, resumed at the byte it stopped at');
  } finally {
    server.close();
  }
});
