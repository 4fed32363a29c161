/**
 * Issue 16: defects found by testing from outside, each against real processes and real
 * clients (curl, Chromium, raw sockets, the canopy CLI). One network serves every case:
 * a root and one member `edge` (region=us tier=edge) that was started over volumes holding
 * a locally ingested content for region=eu.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { cliCommand, stopProcess } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { apiFetch, withToken } from '../helpers/api-fetch.js';
import { launchChromium } from '../helpers/browser.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';
import { waitFor } from '../helpers/wait.js';

describe('defects found from outside (issue 16)', () => {
  const dir = tempDir('canopy-i16-');
  const net16 = `${dir.path}/net`;
  let network: LocalNetwork;
  let root: RunningNode;
  let edge: RunningNode;
  let localId = '';
  let pageId = '';
  let secretId = '';
  let emptyId = '';
  let bigId = '';
  let token = '';
  let localBytes: Buffer;

  before(async () => {
    // Item 6: a content ingested into the edge's volumes before it ever starts, for region=eu.
    await writeSample(`${dir.path}/local.bin`, 3 * 2 ** 20, 'local');
    localBytes = readFileSync(`${dir.path}/local.bin`);
    const ingest = await runCli(['ingest', `${dir.path}/local.bin`, '--volume', `${net16}/edge/v0`, '--data', `${net16}/edge`, '--criteria', 'region=eu', '--block-size', '256KiB', '--json']);
    assert.equal(ingest.code, 0, ingest.stderr);
    localId = lastJson<{ contentId: string }>(ingest.stdout).contentId;
    network = await startNetwork(net16, [], [{ spec: { name: 'edge', attrs: { region: 'us', tier: 'edge' } }, args: ['--volume', `${net16}/edge/v0`] }]);
    root = network.root!;
    edge = network.nodes[0]!;
    token = network.apiToken();
    writeFileSync(`${dir.path}/page.html`, attackPage(root.api, edge.nodeId, 'edge page'));
    pageId = await publish(network, `${dir.path}/page.html`, ['--criteria', 'tier=edge']);
    writeFileSync(`${dir.path}/secret.bin`, 'signed access only\n');
    secretId = await publish(network, `${dir.path}/secret.bin`, ['--criteria', 'tier=edge', '--access', 'signed']);
    writeFileSync(`${dir.path}/empty.bin`, '');
    emptyId = await publish(network, `${dir.path}/empty.bin`, ['--criteria', 'tier=edge']);
    await writeSample(`${dir.path}/big.bin`, 16 * 2 ** 20, 'big');
    bigId = await publish(network, `${dir.path}/big.bin`, ['--criteria', 'tier=hub', '--block-size', '1MiB']);
  });
  after(async () => {
    await network?.stop();
    dir.remove();
  });

  const publishers = async () => ((await (await apiFetch(`${root.api}/api/publishers`)).json()) as { publishers: { key: string }[] }).publishers.map((p) => p.key).sort();
  const edgeAttrs = async () => ((await (await apiFetch(`${root.api}/api/nodes`)).json()) as { nodes: { nodeId: string; attrs: Record<string, string> }[] }).nodes.find((n) => n.nodeId === edge.nodeId)!.attrs;

  it('item 1: the API refuses cookie-authenticated writes from another origin or as text/plain (curl)', async () => {
    const key = 'A'.repeat(43);
    const post = (origin: string, type: string) =>
      runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', `Cookie: canopy_token=${token}`, '-H', `Origin: ${origin}`, '-H', `content-type: ${type}`, '--data', JSON.stringify({ key, name: 'x' }), `${root.api}/api/publishers`]);
    assert.equal((await post('http://evil.example', 'text/plain')).stdout, '403');
    assert.equal((await post(root.api, 'text/plain')).stdout, '403');
    assert.ok(!(await publishers()).includes(key));
    const attrs = await runCommand('curl', ['-sS', '-X', 'POST', '-H', `Cookie: canopy_token=${token}`, '-H', `Origin: ${root.http}`, '-H', 'content-type: application/json', '--data', '{"attrs":"region=eu,tier=edge"}', `${root.api}/api/nodes/${edge.nodeId}/attributes`]);
    assert.equal((JSON.parse(attrs.stdout) as { error: { code: string } }).error.code, 'ERR_CROSS_ORIGIN');
    // The dashboard's own same-origin JSON writes still work, and so does a bearer token.
    assert.equal((await post(root.api, 'application/json')).stdout, '200');
    assert.ok((await publishers()).includes(key));
    const removed = await apiFetch(`${root.api}/api/publishers/${key}/remove`, { method: 'POST' });
    assert.equal(removed.status, 200);
  });

  it('item 1: in Chromium, a published page and a page on another port of the host cannot write with the admin cookie', async () => {
    const before = { publishers: await publishers(), attrs: await edgeAttrs() };
    const attacker = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(root.api, edge.nodeId, 'other port')));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await (await browser.newContext()).newPage();
      await page.goto(withToken(`${root.api}/`)); // the admin logs in: the token becomes the cookie
      const edgePage = await page.goto(`${root.http}/content/${pageId}/page.html`);
      assert.equal(edgePage!.headers()['x-content-type-options'], 'nosniff');
      assert.match(edgePage!.headers()['content-security-policy'] ?? '', /sandbox/);
      await page.waitForTimeout(1500);
      assert.notEqual(await page.title(), 'done', 'the published page ran script');
      await page.goto(`http://127.0.0.1:${(attacker.address() as net.AddressInfo).port}/`);
      await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 15_000 });
      assert.deepEqual(JSON.parse(await page.evaluate(() => document.body.dataset.result ?? '[]')), ['opaque', 'opaque']);
    } finally {
      await browser?.close();
      attacker.close();
    }
    assert.deepEqual(await publishers(), before.publishers, 'a publisher key was authorised');
    assert.deepEqual(await edgeAttrs(), before.attrs, "the edge's attributes changed");
  });

  it('item 2: canopy store serve applies --access signed like the edge', async () => {
    const { command, args } = cliCommand();
    const serve = spawn(command, [...args, 'store', 'serve', '--data', `${net16}/root`, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(createInterface({ input: serve.stdout! }), 'line')) as [string];
      const base = (JSON.parse(line) as { http: string }).http;
      const plain = await fetch(`${base}/content/${secretId}`);
      assert.equal(plain.status, 403);
      assert.equal(((await plain.json()) as { error: { code: string } }).error.code, 'ERR_URL_SIGNATURE');
      const listed = (await (await fetch(`${base}/`)).json()) as { contents: { contentId: string }[] };
      assert.ok(!listed.contents.some((c) => c.contentId === secretId), 'a signed content is listed');
      assert.ok(listed.contents.some((c) => c.contentId === pageId));
      const signed = (await (await apiFetch(`${root.api}/api/contents/${secretId}/signed-url`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json()) as { path: string };
      const ok = await fetch(`${base}${signed.path}`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'signed access only\n');
    } finally {
      await stopProcess(serve);
    }
  });

  it('item 3: drafts are bounded: 413 past the largest manifest, 429 past two in flight', async () => {
    const huge = await rawRequest(root.api, `POST /api/publish/drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${200 * 2 ** 20}\r\n\r\n{`);
    assert.match(huge, /^HTTP\/1\.1 413 /);
    assert.match(huge, /ERR_BODY_TOO_LARGE/);
    const held = await Promise.all([0, 1].map(() => openPartialDraft(root.api, token)));
    try {
      const third = await rawRequest(root.api, `POST /api/publish/drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
      assert.match(third, /^HTTP\/1\.1 429 /);
      assert.match(third, /retry-after: 1/i);
      assert.match(third, /ERR_BUSY/);
    } finally {
      held.forEach((s) => s.destroy());
    }
    await waitFor('drafts accepted again once the held ones are gone', async () => /^HTTP\/1\.1 400 /.test(await rawRequest(root.api, `POST /api/publish/drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)), 10_000);
  });

  it('item 7: two Host headers get 400, HTTP/2.0 gets 505, a suffix range on an empty file 200, ranges merge before the 64 limit', async () => {
    assert.match(await rawRequest(edge.http, `GET /content/${pageId} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 [^]*ERR_HTTP_REQUEST/);
    assert.match(await rawRequest(edge.http, `GET /content/${pageId} HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 505 [^]*ERR_HTTP_VERSION/);
    await waitFor('the edge to know the empty file', async () => (await holding(edge, emptyId)).totalBlocks === 0);
    const empty = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-r', '-1', `${edge.http}/content/${emptyId}`]);
    assert.equal(empty.stdout, '200');
    const ranges = Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',');
    const merged = await runCommand('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-r', ranges, `${root.http}/content/${bigId}`]);
    assert.match(merged.stdout, /^HTTP\/1\.1 206 /);
    assert.match(merged.stdout, /content-range: bytes 0-199\/16777216/i);
  });

  it('item 8: tus errors are JSON, and unknown nodes, API tokens and publisher keys have their own codes', async () => {
    const tus = await apiFetch(`${root.api}/api/uploads`, { method: 'POST', headers: { 'upload-length': '5' } });
    assert.equal(tus.status, 412);
    assert.match(tus.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await tus.json(), { error: { code: 'ERR_UPLOAD_PROTOCOL', message: 'Tus-Resumable Required' } });
    const code = async (path: string) => ((await (await apiFetch(`${root.api}${path}`, { method: 'POST', body: '{"attrs":"a=b"}', headers: { 'content-type': 'application/json' } })).json()) as { error: { code: string } }).error.code;
    assert.equal(await code('/api/nodes/no-such-node/attributes'), 'ERR_NODE_NOT_FOUND');
    assert.equal(await code('/api/api-tokens/nosuch/revoke'), 'ERR_API_TOKEN_NOT_FOUND');
    assert.equal(await code(`/api/publishers/${'B'.repeat(43)}/remove`), 'ERR_PUBLISHER_NOT_FOUND');
  });

  it('item 6: the edge keeps and serves its locally ingested content outside its criteria, and says so', async () => {
    const served = await fetch(`${edge.http}/content/${localId}`);
    assert.equal(served.status, 200);
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(localBytes), 'served bytes differ');
    const local = ((await (await apiFetch(`${edge.api}/api/contents/${localId}`)).json()) as { local: { complete: boolean; keptOutsideCriteria?: boolean } }).local;
    assert.equal(local.complete, true);
    assert.equal(local.keptOutsideCriteria, true);
    assert.match(readFileSync(`${edge.dataDir}/node.log`, 'utf8'), /"level":"warn"[^\n]*keeping a locally ingested content/);
  });

  it('item 10: /healthz answers while 50 HTTP clients download from the same node', async () => {
    const urls = Array.from({ length: 50 }, () => ['-o', '/dev/null', `${root.http}/content/${bigId}`]).flat();
    const clients = runCommand('curl', ['-sS', '--parallel', '--parallel-max', '50', '--limit-rate', '4M', ...urls], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 500));
    const health = await fetch(`${root.api}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    assert.equal((await clients).code, 0);
  });

  it('item 11: canopy publish and canopy status take --api-token-file', async () => {
    writeFileSync(`${dir.path}/token`, `${token}\n`);
    writeFileSync(`${dir.path}/wrong`, 'cat1.nope.nope\n');
    const env = { CANOPY_API_TOKEN_FILE: '', CANOPY_API_TOKEN: '' };
    const wrong = await runCli(['status', '--to', root.api, '--api-token-file', `${dir.path}/wrong`], { env });
    assert.match(wrong.stderr, /ERR_AUTH_REQUIRED/);
    const status = await runCli(['status', pageId, '--to', root.api, '--api-token-file', `${dir.path}/token`, '--json'], { env });
    assert.equal(status.code, 0, status.stderr);
    const pub = await runCli(['publish', `${dir.path}/secret.bin`, '--name', 'again.bin', '--to', root.api, '--api-token-file', `${dir.path}/token`, '--json'], { env });
    assert.equal(pub.code, 0, pub.stderr);
  });

  it('item 9: a revoked node says so and exits non-zero; the root logs it once', async () => {
    const exited = once(edge.process, 'exit') as Promise<[number | null, string | null]>;
    const r = await runCli(['nodes', 'revoke', edge.nodeId, '--to', root.api]);
    assert.equal(r.code, 0, r.stderr);
    const [code] = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the revoked node is still running after 60 s')), 60_000).unref())]);
    assert.notEqual(code, 0);
    assert.match(readFileSync(`${edge.dataDir}/node.log`, 'utf8'), /ERR_NODE_REVOKED/);
    const rootLog = readFileSync(`${root.dataDir}/node.log`, 'utf8');
    assert.ok(rootLog.split('\n').filter((l) => l.includes(edge.nodeId) && /refused peer connection|told it is revoked/.test(l)).length <= 1, 'the root logs each attempt');
  });
});

/** A page that tries both writes of the issue with the admin's cookie, then titles itself "done". */
function attackPage(api: string, nodeId: string, label: string): string {
  return `<!doctype html><title>${label}</title><script>
const post = (path, body) => fetch(${JSON.stringify(api)} + path, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) }).then((r) => r.type, (e) => 'failed: ' + e);
Promise.all([post('/api/publishers', { key: ${JSON.stringify('C'.repeat(43))}, name: 'csrf' }), post('/api/nodes/${nodeId}/attributes', { attrs: 'region=eu,tier=hub' })])
  .then((r) => { document.body.dataset.result = JSON.stringify(r); document.title = 'done'; });
</script>`;
}

/** Sends raw request bytes and returns everything the server answers until it closes (or 5 s). */
async function rawRequest(base: string, text: string): Promise<string> {
  const u = new URL(base);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.on('error', () => undefined);
  socket.write(text);
  let out = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (out += d));
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 5000))]);
  socket.destroy();
  return out;
}

/** A draft whose body is still arriving: it occupies one of the drafts in flight. */
async function openPartialDraft(base: string, token: string): Promise<net.Socket> {
  const u = new URL(base);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`POST /api/publish/drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`);
  await new Promise((r) => setTimeout(r, 300));
  return socket;
}
