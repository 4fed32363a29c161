/**
 * Authorisation is enforced, not advisory, between real node processes over mutual TLS:
 * a node with the wrong attested attributes is refused blocks even when it knows their
 * hashes; forged or borrowed records, self-signed, expired or missing certificates do not
 * get in; a node whose attributes change stops receiving and evicts what it may no longer
 * hold; a revoked node is cut off by every holder.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { isCanopyError } from '../../src/core/errors.js';
import { LocalNetwork, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { generateKeyPair, issueNodeCertificate, newNodeId, selfSignedNodeCertificate } from '../../src/security/x509.js';
import { encodeFrame } from '../../src/wire/frame-codec.js';
import { PEER_ALPN } from '../../src/security/tls-transport.js';
import { credentialsOf, dialAs } from '../helpers/peer-as.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { signUrl } from '../../src/security/content-access.js';

const SIZE = 8 * 2 ** 20;


/** Opens a raw TLS connection with these credentials, sends a valid hello frame, and reports whether any byte came back. */
function rawHello(address: { host: string; port: number }, creds: { key?: string; cert?: string; ca: string }): Promise<{ bytes: number; closed: boolean }> {
  return new Promise((resolve) => {
    const s = tls.connect({ ...address, ...creds, ALPNProtocols: [PEER_ALPN], checkServerIdentity: () => undefined });
    let bytes = 0;
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('error', () => undefined);
    s.on('secureConnect', () => s.write(Buffer.concat(encodeFrame({ t: 'hello', id: 1, nodeId: '0000000000000000', name: 'x', record: {}, version: 1 }))));
    s.on('close', () => resolve({ bytes, closed: true }));
    setTimeout(() => {
      s.destroy();
      resolve({ bytes, closed: false });
    }, 5_000);
  });
}

describe('security between real node processes', () => {
  const dir = tempDir('canopy-sec6-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  let contentId = '';
  let euEdge: RunningNode;
  let euHub: RunningNode;
  let us: RunningNode;
  let hashes: string[] = [];

  const local = async (node: RunningNode) => (await network.api(node).get<{ local: { haveBlocks: number } }>(`/api/contents/${contentId}`).catch(() => ({ local: { haveBlocks: 0 } }))).local.haveBlocks;

  before(async () => {
    await network.start([
      { name: 'eu-edge', attrs: { region: 'eu', tier: 'edge' } },
      { name: 'eu-hub', attrs: { region: 'eu', tier: 'hub' } },
      { name: 'us-edge', attrs: { region: 'us', tier: 'edge' } },
    ]);
    [euEdge, euHub, us] = network.nodes as [RunningNode, RunningNode, RunningNode];
    const file = path.join(dir.path, 'payload.bin');
    await writeSample(file, SIZE, 'security');
    const published = await runCli(['publish', file, '--criteria', 'region=eu', '--block-size', '1MiB', '--to', network.root!.api, '--json']);
    assert.equal(published.code, 0, published.stderr);
    contentId = lastJson<{ contentId: string }>(published.stdout).contentId;
    const manifest = await network.rootApi.get<{ blocks: { hash: string }[] }>(`/api/contents/${contentId}/manifest`);
    hashes = manifest.blocks.map((b) => b.hash);
    await until('eu nodes complete', async () => ((await local(euEdge)) === 8 && (await local(euHub)) === 8 ? true : undefined));
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('refuses blocks to a node whose attested attributes do not match, though it knows the hashes', async () => {
    assert.equal(hashes.length, 8);
    const creds = credentialsOf(us.dataDir);
    const conn = await dialAs(creds, euEdge.peer, creds.record);
    try {
      await assert.rejects(conn.request('get-block', { contentId, index: 0 }), (err) => isCanopyError(err, 'ERR_NOT_AUTHORISED') && /does not meet the criteria "region=eu"/.test(err.message));
    } finally {
      conn.destroy();
    }
    assert.equal(await local(us), 0, 'the us node holds nothing');
  });

  it('refuses a forged record and a record borrowed from another node', async () => {
    const creds = credentialsOf(us.dataDir);
    const forged = { ...creds.record, attrs: { region: 'eu', tier: 'edge' } };
    await assert.rejects(dialAs(creds, euEdge.peer, forged), (err) => isCanopyError(err, 'ERR_NOT_AUTHORISED') && /signature/.test(err.message));
    const borrowed = credentialsOf(euHub.dataDir).record;
    await assert.rejects(dialAs(creds, euEdge.peer, borrowed), (err) => isCanopyError(err, 'ERR_NOT_AUTHORISED') && /names node/.test(err.message));
  });

  it('drops self-signed, expired and missing certificates before reading any request', async () => {
    const ca = readFileSync(path.join(network.root!.dataDir, 'security', 'ca.crt'), 'utf8');
    const caKey = readFileSync(path.join(network.root!.dataDir, 'security', 'ca.key'), 'utf8');
    const keys = generateKeyPair();
    const selfSigned = await selfSignedNodeCertificate(newNodeId(), keys);
    const expired = await issueNodeCertificate({ nodeId: newNodeId(), publicKeyPem: keys.publicKeyPem, caCertPem: ca, caKeyPem: caKey, notAfter: new Date(Date.now() - 3_600_000) });
    for (const [what, creds] of [
      ['self-signed', { key: keys.privateKeyPem, cert: selfSigned, ca }],
      ['expired', { key: keys.privateKeyPem, cert: expired, ca }],
      ['no certificate', { ca }],
    ] as const) {
      const r = await rawHello(euEdge.peer, creds);
      assert.equal(r.closed, true, `${what}: the holder must close the connection`);
      assert.equal(r.bytes, 0, `${what}: the holder must not answer anything`);
    }
    // The same raw client with a valid certificate does get an answer: the probe can tell the difference.
    const good = credentialsOf(us.dataDir);
    const ok = await rawHello(euEdge.peer, { key: good.key, cert: good.cert, ca });
    assert.ok(ok.bytes > 0, 'a valid certificate gets a reply (an error about the record here)');
  });

  it('a node whose attributes change stops receiving, evicts what it may no longer hold, and fetches again when it qualifies', async () => {
    const oldRecord = credentialsOf(euHub.dataDir).record;
    const set = await runCli(['nodes', 'set-attrs', 'eu-hub', 'region=us,tier=hub', '--to', network.root!.api, '--json']);
    assert.equal(set.code, 0, set.stderr);
    await until('eu-hub evicts the content', async () => ((await local(euHub)) === 0 ? true : undefined));
    const info = await network.api(euHub).get<{ attrs: Record<string, string> }>('/api/node');
    assert.deepEqual(info.attrs, { region: 'us', tier: 'hub' });
    // Replaying its old, more favourable record does not help: the holder knows a newer one.
    const creds = credentialsOf(euHub.dataDir);
    const conn = await dialAs(creds, euEdge.peer, oldRecord);
    try {
      await assert.rejects(conn.request('get-block', { contentId, index: 1 }), (err) => isCanopyError(err, 'ERR_NOT_AUTHORISED'));
    } finally {
      conn.destroy();
    }
    const status = await network.rootApi.get<{ nodes: { name: string; qualified: boolean; haveBlocks: number }[] }>(`/api/contents/${contentId}/status`);
    const hub = status.nodes.find((n) => n.name === 'eu-hub')!;
    assert.equal(hub.qualified, false);
    // Qualifying again: it fetches the content anew, without a new announcement.
    const back = await runCli(['nodes', 'set-attrs', euHub.nodeId, 'region=eu,tier=hub', '--to', network.root!.api, '--json']);
    assert.equal(back.code, 0, back.stderr);
    await until('eu-hub fetches the content again', async () => ((await local(euHub)) === 8 ? true : undefined));
  });

  it('renews a certificate (new key, same node id) and serves new connections with it', async () => {
    const before = credentialsOf(euEdge.dataDir);
    const renewed = await network.api(euEdge).postJson<{ nodeId: string; validTo: string }>('/api/node/renew', {});
    assert.equal(renewed.nodeId, euEdge.nodeId);
    const after = credentialsOf(euEdge.dataDir);
    assert.notEqual(after.key, before.key);
    const cert = new X509Certificate(after.cert);
    assert.match(cert.subject, new RegExp(`CN=${euEdge.nodeId}`));
    const presented = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ ...euEdge.peer, key: after.key, cert: after.cert, ca: after.ca, ALPNProtocols: [PEER_ALPN], checkServerIdentity: () => undefined });
      s.once('secureConnect', () => {
        resolve(s.getPeerX509Certificate()!.fingerprint256);
        s.destroy();
      });
      s.once('error', reject);
    });
    assert.equal(presented, cert.fingerprint256, 'the holder presents its new certificate');
    const us = credentialsOf(network.nodes[2]!.dataDir);
    const conn = await dialAs(us, euEdge.peer, us.record);
    conn.destroy();
  });

  it('serves a signed-access content only with a valid, unexpired signed URL', async () => {
    const file = path.join(dir.path, 'private.bin');
    const sha = await writeSample(file, 2 * 2 ** 20, 'private');
    const pub = await runCli(['publish', file, '--criteria', 'region=eu', '--access', 'signed', '--block-size', '1MiB', '--to', network.root!.api, '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    const id = lastJson<{ contentId: string }>(pub.stdout).contentId;
    await until('eu-edge holds the private content', async () => ((await network.api(euEdge).get<{ local: { complete: boolean } }>(`/api/contents/${id}`)).local.complete ? true : undefined));
    const plain = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${euEdge.http}/content/${id}`]);
    assert.equal(plain.stdout, '403', 'no signature: refused');
    const made = await runCli(['url', id, '--ttl', '10m', '--base', euEdge.http, '--to', network.root!.api, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const url = lastJson<{ urls: string[] }>(made.stdout).urls[0]!;
    const out = path.join(dir.path, 'private.out');
    const got = await runCommand('curl', ['-sS', '--fail', '-o', out, url]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), sha);
    const tampered = url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`);
    assert.equal((await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', tampered])).stdout, '403', 'a longer expiry breaks the signature');
    const caKey = readFileSync(path.join(network.root!.dataDir, 'security', 'ca.key'), 'utf8');
    const expired = `${euEdge.http}/content/${id}?${signUrl(id, Math.floor(Date.now() / 1000) - 1, caKey)}`;
    const exp = await runCommand('curl', ['-sS', '-w', '\n%{http_code}', expired]);
    assert.match(exp.stdout, /ERR_URL_SIGNATURE.*expired[\s\S]*403$/);
    const listing = await fetch(`${euEdge.http}/`).then((r) => r.json() as Promise<{ contents: { contentId: string }[] }>);
    assert.ok(!listing.contents.some((c) => c.contentId === id), 'signed contents are not listed');
  });

  it('path traversal and malformed paths fail on the edge and the API', async () => {
    for (const p of ['/content/../../../../etc/passwd', '/files/..%2F..%2F..%2Fetc%2Fpasswd', '/content/%2e%2e/%2e%2e/etc/passwd', '/files/%E0%A4%A', `/content/${contentId}/..%2Fsecurity%2Fnode.key`]) {
      const r = await runCommand('curl', ['-sS', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${euEdge.http}${p}`]);
      assert.equal(r.stdout, '404', `edge ${p}`);
    }
    const api = await runCommand('curl', ['-sS', '--path-as-is', '-H', `Authorization: Bearer ${network.apiToken()}`, '-w', '\n%{http_code}', `${euEdge.api}/api/contents/%E0%A4%A`]);
    assert.match(api.stdout, /ERR_USAGE[\s\S]*400$/);
    const cliNoToken = await runCli(['ls', '--to', euEdge.api], { env: { CANOPY_API_TOKEN_FILE: path.join(dir.path, 'no-such-file') } });
    assert.equal(cliNoToken.code, 1);
    assert.match(cliNoToken.stderr, /ERR_AUTH_REQUIRED.*no token was found \(--api-token-file, CANOPY_API_TOKEN/);
    const noToken = await runCommand('curl', ['-sS', '-w', '\n%{http_code}', `${euEdge.api}/api/node`]);
    assert.match(noToken.stdout, /ERR_AUTH_REQUIRED[\s\S]*401$/);
    const readOnly = await network.api(euEdge).postJson<{ token: string }>('/api/api-tokens', { scopes: 'read', label: 'test' });
    const publish = await runCommand('curl', ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${readOnly.token}`, '-w', '\n%{http_code}', `${network.root!.api}/api/contents?name=x`]);
    assert.match(publish.stdout, /ERR_AUTH_REQUIRED|ERR_SCOPE/, 'a token of another node, or a read token, cannot publish');
    const scoped = await network.rootApi.postJson<{ token: string }>('/api/api-tokens', { scopes: 'read', label: 'test' });
    const denied = await runCommand('curl', ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${scoped.token}`, '-w', '\n%{http_code}', `${network.root!.api}/api/contents?name=x`]);
    assert.match(denied.stdout, /ERR_SCOPE[\s\S]*403$/);
    const listed = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${scoped.token}`, `${network.root!.api}/api/contents`]);
    assert.equal(listed.stdout, '200');
    const ls = await runCli(['api-token', 'list', '--to', network.root!.api, '--json']);
    const id = lastJson<{ tokens: { id: string; scopes: string[] }[] }>(ls.stdout).tokens.find((t) => scoped.token.includes(`.${t.id}.`))!.id;
    const rv = await runCli(['api-token', 'revoke', id, '--to', network.root!.api, '--json']);
    assert.equal(rv.code, 0, rv.stderr);
    const after = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${scoped.token}`, `${network.root!.api}/api/contents`]);
    assert.equal(after.stdout, '401', 'a revoked API token is refused at once');
  });

  it('revocation reaches the holders: the revoked node is cut off everywhere', async () => {
    const creds = credentialsOf(us.dataDir);
    const before = await dialAs(creds, euEdge.peer, creds.record);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const r = await runCli(['nodes', 'revoke', 'us-edge', '--to', network.root!.api, '--json']);
    assert.equal(r.code, 0, r.stderr);
    await closed; // The holder cut the live connection when the revocation arrived.
    const again = await rawHello(euEdge.peer, { key: creds.key, cert: creds.cert, ca: creds.ca });
    assert.equal(again.bytes, 0, 'a holder answers nothing to a revoked node');
    const { nodes } = await network.rootApi.get<{ nodes: { name: string }[] }>('/api/nodes');
    assert.ok(!nodes.some((n) => n.name === 'us-edge'), 'the root dropped the revoked member');
  });
});
