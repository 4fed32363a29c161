/**
 * HTTPS served by the nodes, checked with real curl and the real CLI: the root serves its
 * admin API and edge with an operator's certificate (made here by openssl), a member serves
 * both with a certificate the cluster CA issued for its names (asked of the root over its
 * mutual-TLS link, set in YAML). curl verifies each with --cacert and refuses without;
 * the CLI publishes over HTTPS with --ca, refuses a server its CA did not issue
 * (ERR_TLS_UNVERIFIED), and the member's edge serves the published bytes over HTTPS.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../src/demo/local-network.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { startNode, type StartedNode } from '../helpers/node-process.js';
import { waitFor } from '../helpers/wait.js';

const PORTS = ['--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'];

/** A self-signed certificate for 127.0.0.1 and localhost, as an operator's own PKI would give. */
function operatorCertificate(dir: string): { cert: string; key: string } {
  const cert = `${dir}/operator.crt`;
  const key = `${dir}/operator.key`;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=canopy-root', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

describe('HTTPS for the admin API and the HTTP edge', () => {
  const dir = tempDir('canopy-https-');
  const children: ChildProcess[] = [];
  let root: StartedNode;
  let member: StartedNode;
  let operator: { cert: string; key: string };
  const clusterCa = `${dir.path}/root/security/ca.crt`;
  const token = `${dir.path}/api-token`;
  const curl = (args: string[]) => runCommand('curl', ['-sS', '--max-time', '10', ...args]);

  before(async () => {
    operator = operatorCertificate(dir.path);
    const publisher = loadOrCreateKeyFile(defaultKeyPath()).path;
    root = await startNode(['--root', '--data', `${dir.path}/root`, '--api-token-file', token, '--authorise-publisher', publisher, ...PORTS, '--https', '--https-edge', '--https-cert', operator.cert, '--https-key', operator.key]);
    children.push(root.child);
    const made = await runCli(['token', 'create', '--attrs', 'region=eu', '--to', root.ready.api, '--ca', operator.cert], { env: { CANOPY_API_TOKEN_FILE: token } });
    assert.equal(made.code, 0, made.stderr);
    writeFileSync(`${dir.path}/m1.yaml`, ['https:', '  api: true', '  edge: true', '  names: [m1.example.net]'].join('\n'));
    member = await startNode(['--config', `${dir.path}/m1.yaml`, '--join', `127.0.0.1:${root.ready.peer.port}`, '--token', made.stdout.split('\n')[0]!, '--data', `${dir.path}/m1`, ...PORTS]);
    children.push(member.child);
  });
  after(async () => {
    await Promise.all(children.map(stopProcess));
    dir.remove();
  });

  it('serves https:// URLs that curl verifies against the right CA only', async () => {
    for (const url of [root.ready.api, root.ready.http, member.ready.api, member.ready.http]) assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await curl(['--cacert', operator.cert, `${root.ready.api}/readyz`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { ready: boolean }).ready, true);
    assert.equal((await curl([`${root.ready.api}/healthz`])).code, 60, 'without --cacert curl refuses the operator certificate');
    assert.equal((await curl(['--cacert', clusterCa, `${root.ready.api}/healthz`])).code, 60, 'the cluster CA did not issue the root operator certificate');
    // The member's certificate: issued by the cluster CA (the CA it fetched at join), for its names.
    const viaName = await curl(['--cacert', `${dir.path}/m1/security/ca.crt`, '--resolve', `m1.example.net:${new URL(member.ready.api).port}:127.0.0.1`, `https://m1.example.net:${new URL(member.ready.api).port}/healthz`]);
    assert.equal(viaName.code, 0, viaName.stderr);
    assert.equal((await curl(['--cacert', clusterCa, '--resolve', `other.example.net:${new URL(member.ready.api).port}:127.0.0.1`, `https://other.example.net:${new URL(member.ready.api).port}/healthz`])).code, 60, 'a name not in the certificate');
    assert.equal((await curl([`${member.ready.http}/healthz`])).code, 60);
    const issued = readFileSync(`${dir.path}/m1/security/https.crt`, 'utf8');
    const ext = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName,extendedKeyUsage'], { input: issued, encoding: 'utf8' });
    assert.match(ext, /DNS:m1\.example\.net, IP Address:127\.0\.0\.1, DNS:localhost/);
    assert.match(ext, /Extended Key Usage: *\n *TLS Web Server Authentication\n/, 'server only: it cannot stand in for the node on a peer link');
    assert.equal((await curl(['http://' + new URL(member.ready.api).host + '/healthz'])).code !== 0, true, 'no plain HTTP on an HTTPS port');
  });

  it('the CLI publishes over HTTPS with --ca, refuses an unverified server, and the member edge serves the bytes', async () => {
    const env = { CANOPY_API_TOKEN_FILE: token };
    const wrongCa = await runCli(['status', '--to', root.ready.api, '--ca', clusterCa], { env });
    assert.match(wrongCa.stderr, /ERR_TLS_UNVERIFIED.*issued by the CA in/, 'with --ca, only that CA is trusted');
    const file = `${dir.path}/payload.bin`;
    const bytes = randomBytes(300_000);
    writeFileSync(file, bytes);
    const published = await runCli(['publish', file, '--criteria', 'region=eu', '--to', root.ready.api, '--ca', operator.cert, '--json'], { env });
    assert.equal(published.code, 0, published.stderr);
    const { contentId } = lastJson<{ contentId: string }>(published.stdout);
    const out = `${dir.path}/fetched.bin`;
    await waitFor('the member edge serves the content over HTTPS', async () => (await curl(['-f', '--cacert', clusterCa, '-o', out, `${member.ready.http}/content/${contentId}/payload.bin`])).code === 0, 30_000);
    assert.ok(readFileSync(out).equals(bytes));
    // The member's API, with its own token, verified against the cluster CA through CANOPY_CA_FILE.
    const ls = await runCli(['ls', '--to', member.ready.api], { env: { CANOPY_API_TOKEN_FILE: `${dir.path}/m1/api-token`, CANOPY_CA_FILE: clusterCa } });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /payload\.bin/);
  });
});
