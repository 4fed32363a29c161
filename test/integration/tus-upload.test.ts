/**
 * The tus upload path with a real tus client (tus-js-client in Node) against a real root:
 * bytes that do not match the announced hashes are never stored nor served, the upload is
 * refused at the end, and an upload whose length differs from the draft is refused at once.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Upload } from 'tus-js-client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { tempDir } from '../helpers/cli.js';
import { apiFetch, authHeader } from '../helpers/api-fetch.js';

const BS = 64 * 1024;

function draftOf(data: Buffer, name: string) {
  const blocks: string[] = [];
  for (let o = 0; o < data.length; o += BS) blocks.push(createHash('sha256').update(data.subarray(o, o + BS)).digest('hex'));
  return { name, criteria: 'region=eu', size: data.length, blockSize: BS, mediaType: 'application/octet-stream', blocks, sha256: createHash('sha256').update(data).digest('hex') };
}

function upload(api: string, body: Buffer, contentId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new Upload(body, { endpoint: `${api}/api/uploads`, metadata: { contentId }, headers: authHeader(), chunkSize: 4 * BS, retryDelays: [], onSuccess: () => resolve(), onError: reject });
    u.start();
  });
}

describe('tus uploads', () => {
  const dir = tempDir('canopy-i8-tus-');
  const network = new LocalNetwork(`${dir.path}/net`);
  before(() => network.start([{ name: 'eu', attrs: { region: 'eu' } }], ['--block-size', String(BS)]));
  after(async () => {
    await network.stop();
    dir.remove();
  });

  async function draft(data: Buffer, name: string): Promise<string> {
    const res = await apiFetch(`${network.root!.api}/api/publish/drafts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(draftOf(data, name)) });
    assert.equal(res.status, 201);
    return ((await res.json()) as { contentId: string }).contentId;
  }

  it('stores and distributes a correct upload', async () => {
    const data = randomBytes(10 * BS + 99);
    const id = await draft(data, 'good.bin');
    await upload(network.root!.api, data, id);
    for (let i = 0; ; i++) {
      const s = (await (await apiFetch(`${network.root!.api}/api/contents/${id}/status`)).json()) as ContentStatus;
      if (s.nodes[0]!.complete) break;
      assert.ok(i < 600, 'not distributed');
      await sleep(100);
    }
    const served = Buffer.from(await (await apiFetch(`${network.nodes[0]!.http}/content/${id}`)).arrayBuffer());
    assert.ok(served.equals(data));
  });

  it('never stores a tampered block, and refuses the upload', async () => {
    const data = randomBytes(8 * BS);
    const id = await draft(data, 'tampered.bin');
    const bad = Buffer.from(data);
    bad[5 * BS + 17] = bad[5 * BS + 17]! ^ 1;
    await assert.rejects(upload(network.root!.api, bad, id), /422/);
    const { uploads } = (await (await apiFetch(`${network.root!.api}/api/publish/uploads`)).json()) as { uploads: { contentId: string; verifiedBytes: number; complete: boolean }[] };
    const u = uploads.find((x) => x.contentId === id)!;
    assert.equal(u.complete, false);
    assert.equal(u.verifiedBytes, 5 * BS, 'the blocks before the tampered one, and none from it on');
    const local = (await (await apiFetch(`${network.nodes[0]!.api}/api/contents/${id}`)).json()) as { local: { haveBytes: number } };
    assert.ok(local.local.haveBytes <= 5 * BS);
  });

  it('refuses an upload whose length is not the draft size, or that names no draft', async () => {
    const data = randomBytes(2 * BS);
    const id = await draft(data, 'short.bin');
    await assert.rejects(upload(network.root!.api, data.subarray(0, BS), id), /400/);
    await assert.rejects(upload(network.root!.api, data, 'f'.repeat(64)), /404/);
  });

  it('refuses a malformed draft with the field named', async () => {
    const res = await apiFetch(`${network.root!.api}/api/publish/drafts`, { method: 'POST', body: JSON.stringify({ ...draftOf(randomBytes(BS), 'x'), blocks: [] }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /draft blocks: must list 1/);
  });

  it('answers as /openapi.json describes, for every route with a schema', async () => {
    const api = network.root!.api;
    const doc = (await (await apiFetch(`${api}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: object } } }>; requestBody?: { content: Record<string, { schema?: object }> } }>> };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const check = (schema: object, value: unknown, what: string) => {
      const validate = ajv.compile(schema);
      assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
    };
    const { contents } = (await (await apiFetch(`${api}/api/contents`)).json()) as { contents: { contentId: string }[] };
    assert.ok(contents.length > 0);
    // A block of that content, which the root holds (GET /api/blocks/{hash}).
    const block = ((await (await apiFetch(`${api}/api/contents/${contents[0]!.contentId}/manifest`)).json()) as { blocks: { hash: string }[] }).blocks[0]!.hash;
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths)) {
      const get = ops.get?.responses['200']?.content?.['application/json'].schema;
      if (!get) continue;
      const url = `${api}${p.replace('{ref}', contents[0]!.contentId).replace('{hash}', block)}${p.startsWith('/api/criteria/') ? '?criteria=region%3Deu' : ''}`;
      const res = await apiFetch(url);
      assert.equal(res.status, 200, url);
      check(get, await res.json(), `GET ${p}`);
      checked++;
    }
    assert.ok(checked >= 10, `only ${checked} routes have schemas`);
    // The draft route: the request a page sends and the answer it gets.
    const draftOp = doc.paths['/api/publish/drafts']!.post!;
    const body = draftOf(randomBytes(BS + 1), 'schema.bin');
    check(draftOp.requestBody!.content['application/json']!.schema!, body, 'draft request');
    const res = await apiFetch(`${api}/api/publish/drafts`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 201);
    check(draftOp.responses['201']!.content!['application/json'].schema, await res.json(), 'draft answer');
    // Errors have the documented shape.
    const missing = await apiFetch(`${api}/api/contents/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    check(draftOp.responses.default!.content!['application/json'].schema, await missing.json(), 'error');
  });
});
