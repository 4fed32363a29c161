/**
 * The FTP edge with real clients: curl (explicit TLS, resume), lftp, Python's ftplib and
 * the basic-ftp library, against a node that holds nothing yet and fetches blocks as they
 * are read. Logins are checked, the tree is read-only and no path escapes it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'basic-ftp';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';

const SIZE = 6 * 2 ** 20 + 12345;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('FTP edge', () => {
  const dir = tempDir('canopy-i7-ftp-');
  let network: LocalNetwork;
  let edge: RunningNode;
  let host = '';
  let port = 0;
  let contentId = '';
  let original: Buffer;

  before(async () => {
    network = await startNetwork(`${dir.path}/net`, [], [{ spec: { name: 'edge', attrs: { tier: 'edge' } }, args: ['--no-prefetch', '--ftp-user', 'alice:s3cret pass'] }]);
    edge = network.nodes[0]!;
    const u = new URL(edge.ftp);
    host = u.hostname;
    port = Number(u.port);
    await writeSample(`${dir.path}/data.bin`, SIZE, 'ftp');
    original = readFileSync(`${dir.path}/data.bin`);
    contentId = await publish(network, `${dir.path}/data.bin`, ['--criteria', 'tier=edge', '--block-size', '256KiB']);
  });
  after(async () => {
    await network?.stop();
    dir.remove();
  });

  it('curl downloads over explicit TLS and resumes with REST', async () => {
    assert.equal((await holding(edge, contentId)).haveBlocks, 0);
    const out = `${dir.path}/curl.bin`;
    writeFileSync(out, original.subarray(0, 1_000_000));
    const r = await runCommand('curl', ['-sS', '--ssl-reqd', '-k', '--user', 'alice:s3cret pass', '-C', '-', '-o', out, `${edge.ftp}/data.bin`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(readFileSync(out)), sha(original));
    const list = await runCommand('curl', ['-sS', '--ssl-reqd', '-k', '--user', 'alice:s3cret pass', `${edge.ftp}/by-id/${contentId}/`]);
    assert.match(list.stdout, new RegExp(`-r--r--r-- .* ${SIZE} .* data\\.bin`));
    const wrong = await runCommand('curl', ['-sS', '--ssl-reqd', '-k', '--user', 'alice:nope', `${edge.ftp}/`]);
    assert.equal(wrong.code, 67, 'curl reports a failed login');
  });

  it('lftp mirrors the file over TLS with the protected data channel', async () => {
    const out = `${dir.path}/lftp.bin`;
    const r = await runCommand('lftp', ['-u', 'alice,s3cret pass', '-p', String(port), '-e', `set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; get data.bin -o ${out}; bye`, host], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(readFileSync(out)), sha(original));
  });

  it('Python ftplib lists with MLSD, reads SIZE/MDTM and resumes with REST over FTPS', async () => {
    const script = `
import ftplib, ssl, sys, hashlib, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=30)
f.connect(${JSON.stringify(host)}, ${port})
f.login('alice', 's3cret pass'); f.prot_p()
facts = dict(f.mlsd())
out = {'mlsd': {k: v['type'] for k, v in facts.items()}, 'size': f.size('data.bin'), 'mdtm': f.sendcmd('MDTM data.bin')}
parts = []
f.retrbinary('RETR /by-id/${contentId}/data.bin', parts.append, rest=5000000)
out['tail'] = hashlib.sha256(b''.join(parts)).hexdigest()
for bad in ['../../../etc/passwd', '/by-id/../../etc', '/etc/passwd']:
    try: f.size(bad); out[bad] = 'found'
    except ftplib.error_perm as e: out[bad] = str(e)[:3]
try: f.storbinary('STOR up.bin', open(sys.argv[0], 'rb')); out['stor'] = 'ok'
except ftplib.error_perm as e: out['stor'] = str(e)[:3]
f.quit()
print(json.dumps(out))
`;
    writeFileSync(`${dir.path}/client.py`, script);
    const r = await runCommand('python3', [`${dir.path}/client.py`]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(out.mlsd, { 'by-id': 'dir', 'data.bin': 'file' });
    assert.equal(out.size, SIZE);
    assert.match(String(out.mdtm), /^213 \d{14}$/);
    assert.equal(out.tail, sha(original.subarray(5_000_000)));
    assert.equal(out['../../../etc/passwd'], '550');
    assert.equal(out['/by-id/../../etc'], '550');
    assert.equal(out['/etc/passwd'], '550');
    assert.equal(out.stor, '550');
  });

  it('basic-ftp downloads, resumes from an offset and lists, over explicit TLS', async () => {
    const client = new Client(30_000);
    try {
      await client.access({ host, port, user: 'alice', password: 's3cret pass', secure: true, secureOptions: { rejectUnauthorized: false } });
      const list = await client.list('/');
      assert.deepEqual(list.map((e) => e.name).sort(), ['by-id', 'data.bin']);
      assert.equal(list.find((e) => e.name === 'data.bin')!.size, SIZE);
      assert.equal(await client.size('data.bin'), SIZE);
      await client.downloadTo(`${dir.path}/basic.bin`, 'data.bin');
      assert.equal(sha(readFileSync(`${dir.path}/basic.bin`)), sha(original));
      // A resumed download: the first 3 MB are already on disk, REST fetches the rest into place.
      writeFileSync(`${dir.path}/basic-resumed.bin`, original.subarray(0, 3_000_000));
      await client.downloadTo(`${dir.path}/basic-resumed.bin`, 'data.bin', 3_000_000);
      assert.equal(statSync(`${dir.path}/basic-resumed.bin`).size, SIZE);
      assert.equal(sha(readFileSync(`${dir.path}/basic-resumed.bin`)), sha(original));
      await assert.rejects(client.cd('/nowhere'), /550/);
      await assert.rejects(client.remove('data.bin'), /550/);
    } finally {
      client.close();
    }
  });

  it('answers malformed and unknown commands with errors and refuses overlong lines', async () => {
    const replies = await rawSession(host, port, ['HELLO WORLD', 'PASS x', 'RETR data.bin', 'USER alice', 'PASS s3cret pass', 'PORT 127,0,0,1,1,1', 'TYPE Q', 'REST abc', 'CWD /by-id', 'PWD', 'XYZZY', 'QUIT']);
    assert.deepEqual(replies.map((r) => r.slice(0, 3)), ['220', '500', '503', '530', '331', '230', '502', '504', '501', '250', '257', '500', '221']);
    const long = await rawSession(host, port, ['NOOP ' + 'x'.repeat(10_000)]);
    assert.deepEqual(long.map((r) => r.slice(0, 3)), ['220', '500']);
  });
});

/** Sends lines one at a time on a plain control connection and collects one reply per line. */
async function rawSession(host: string, port: number, lines: string[]): Promise<string[]> {
  const socket = net.connect({ host, port });
  socket.setEncoding('utf8');
  const replies: string[] = [];
  let buffer = '';
  let wake: (() => void) | undefined;
  socket.on('data', (d: string) => {
    buffer += d;
    let m;
    while ((m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffer))) {
      replies.push(m[0].trim());
      buffer = buffer.slice(m.index + m[0].length);
      wake?.();
    }
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const next = (n: number) => new Promise<void>((resolve) => {
    const check = () => (replies.length >= n ? resolve() : (wake = check));
    check();
  });
  await next(1);
  for (const [i, line] of lines.entries()) {
    socket.write(`${line}\r\n`);
    await Promise.race([next(i + 2), closed]);
  }
  socket.destroy();
  return replies;
}
