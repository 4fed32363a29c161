/**
 * FTP data channels under TLS with real clients (issue 16): a zero-byte transfer (an empty
 * file, or REST at the size: "resume a complete file") completes its TLS handshake before
 * the data socket closes, and a server started with requireTls (`--ftp-require-tls`)
 * refuses clear data (PROT C, or no PROT at all) with 522, as vsftpd does.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createFtpServer, type FtpServer } from '../../src/edge/ftp/ftp-server.js';
import { loadTlsContext } from '../../src/edge/ftp/ftp-tls.js';
import { FtpUsers } from '../../src/edge/ftp/ftp-users.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { createLogger } from '../../src/core/logger.js';
import { BlockStore } from '../../src/store/block-store.js';
import { VirtualFile } from '../../src/vfile/virtual-file.js';
import { runCli, runCommand, tempDir } from '../helpers/cli.js';

describe('FTP data over TLS', () => {
  const dir = tempDir('canopy-ftp-tls-data-');
  let store: BlockStore;
  let ftp: FtpServer;
  let port = 0;

  before(async () => {
    writeFileSync(`${dir.path}/empty.bin`, '');
    writeFileSync(`${dir.path}/small.bin`, 'twelve bytes');
    for (const f of ['empty.bin', 'small.bin']) {
      const r = await runCli(['ingest', `${dir.path}/${f}`, '--volume', `${dir.path}/v0`, '--criteria', 'tier=edge', '--json']);
      assert.equal(r.code, 0, r.stderr);
    }
    store = BlockStore.openReadOnly(`${dir.path}/v0`);
    ftp = createFtpServer({
      catalog: new Catalog(store),
      visible: () => true,
      open: (c) => new VirtualFile(c.manifest, store, { contentId: c.contentId }),
      users: new FtpUsers([{ name: 'u', password: 'p' }]),
      secureContext: loadTlsContext(dir.path),
      requireTls: true,
      log: createLogger({ node: 'test' }, 'error'),
    });
    await new Promise<void>((resolve) => ftp.server.listen(0, '127.0.0.1', resolve));
    port = (ftp.server.address() as net.AddressInfo).port;
  });
  after(async () => {
    await ftp?.close();
    store?.close();
    dir.remove();
  });

  it('Python ftplib: an empty file and REST at the size over PROT P; PROT C data refused with 522', async () => {
    const script = `
import ftplib, ssl, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=20)
f.connect('127.0.0.1', ${port}); f.login('u', 'p')
out = {}
try:
    f.nlst(); out['noprot'] = 'served'
except ftplib.error_perm as e: out['noprot'] = str(e)[:3]
f.prot_p()
parts = []
out['empty'] = f.retrbinary('RETR empty.bin', parts.append)[:3]
out['emptyBytes'] = len(b''.join(parts))
out['atEnd'] = f.retrbinary('RETR small.bin', parts.append, rest=12)[:3]
out['afterRest'] = len(b''.join(parts))
f.prot_c()
try:
    f.retrbinary('RETR small.bin', parts.append); out['clear'] = 'served'
except ftplib.error_perm as e: out['clear'] = str(e)[:3]
f.quit()
print(json.dumps(out))
`;
    writeFileSync(`${dir.path}/client.py`, script);
    const r = await runCommand('python3', [`${dir.path}/client.py`], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { noprot: '522', empty: '226', emptyBytes: 0, atEnd: '226', afterRest: 0, clear: '522' });
  });

  it('lftp fetches the empty file over a protected data channel', async () => {
    const out = `${dir.path}/lftp-empty.bin`;
    const r = await runCommand('lftp', ['-u', 'u,p', '-p', String(port), '-e', `set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; set net:max-retries 1; get empty.bin -o ${out}; bye`, '127.0.0.1'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
