/**
 * The web app's files from the admin API port (src/api/web-routes.ts): served whole, and a file
 * that cannot be read ends that response, not the process. /proc/1/mem is a regular file to
 * stat, and reading it fails every time (here its open, EACCES; where it opens, its reads,
 * EIO): a real read error, as a file replaced by a rebuild after the check would give.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dispatch } from '../../../src/api/router.js';
import { webRoutes } from '../../../src/api/web-routes.js';

describe('web routes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-web-'));
  let server: http.Server;
  let base: string;
  before(async () => {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>canopy</title>');
    writeFileSync(path.join(dir, 'assets', 'app-1234.js'), 'x'.repeat(300_000));
    symlinkSync('/proc/1/mem', path.join(dir, 'assets', 'broken.js'));
    const routes = webRoutes(dir);
    server = http.createServer((req, res) => void dispatch(routes, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and an asset whole', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>canopy<\/title>/);
    const asset = await fetch(`${base}/assets/app-1234.js`);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await asset.text()).length, 300_000);
  });

  it('ends the response of a file whose read fails, and goes on serving', async () => {
    // content-length 0 (what stat says of /proc files), then the read fails: the response ends either way.
    await fetch(`${base}/assets/broken.js`).then((r) => r.arrayBuffer()).catch(() => undefined);
    // Had the read error gone unheard, the process (this test's) would have ended here.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`${base}/assets/app-1234.js`)).status, 200);
  });
});
