/** Bad input gets a clear, coded error from the real CLI, and a non-zero exit. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/cli.js';

describe('CLI errors', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('names a missing file', async () => {
    const r = await runCli(['publish', `${dir.path}/nope.bin`, '--to', 'http://127.0.0.1:9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_FILE_NOT_FOUND.*nope\.bin.*no such file/);
  });

  it('points at the position of a criteria syntax error', async () => {
    const file = `${dir.path}/a.bin`;
    writeFileSync(file, 'x');
    const r = await runCli(['publish', file, '--criteria', 'region=eu & (tier=edge', '--to', 'http://127.0.0.1:9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_CRITERIA_SYNTAX.*position 22, expected "\)"/);
    assert.match(r.stderr, / {24}\^/);
  });

  it('says when the root cannot be reached, in text and JSON', async () => {
    const r = await runCli(['ls', '--to', 'http://127.0.0.1:9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_UNREACHABLE.*127\.0\.0\.1:9.*ECONNREFUSED/);
    const j = await runCli(['status', '--to', 'http://127.0.0.1:9', '--json']);
    assert.deepEqual(JSON.parse(j.stderr).error.code, 'ERR_UNREACHABLE');
  });

  it('refuses a port in use with the port and the option to change', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['node', '--root', '--data', `${dir.path}/n`, '--peer-port', '0', '--api-port', String(port), '--http-port', '0', '--ftp-port', '0', '--s3-port', '0']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`ERR_PORT_IN_USE.*API port ${port}`));
    } finally {
      blocker.close();
    }
  });

  // A path under /proc exists as a parent but refuses every child with ENOENT: Node's own
  // recursive mkdir loops on that for ever (the node spun at 100 % CPU, never ready).
  it('refuses a data directory that cannot be made, at once and naming it', async () => {
    const r = await runCli(['node', '--root', '--data', '/proc/canopy-no-such-dir/data', '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_CONFIG_INVALID.*data: cannot make the data directory \/proc\/canopy-no-such-dir\/data: ENOENT/);
  });

  it('names the variable when a memory size in the environment is bad, and does not start', async () => {
    for (const name of ['CANOPY_READ_AHEAD', 'CANOPY_BLOCK_CACHE', 'CANOPY_BLOCK_POOL']) {
      const r = await runCli(['node', '--root', '--data', `${dir.path}/env-${name}`, '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'], { env: { [name]: 'lots' }, timeoutMs: 20_000 });
      assert.equal(r.code, 1, `${name}=lots: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`ERR_SIZE_SYNTAX.*${name}: invalid size "lots"`));
    }
  });

  it('rejects unknown options and bad values as usage errors', async () => {
    const r = await runCli(['demo', '--nodes', 'many']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_USAGE.*--nodes/);
    const u = await runCli(['ls', '--bogus']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /ERR_USAGE.*unknown option/);
    const s = await runCli(['demo', '--size', '12 parsecs', '--base-port', '0']);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /ERR_SIZE_SYNTAX/);
    const a = await runCli(['node', '--root', '--data', `${dir.path}/m`, '--attr', 'region=e$u', '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'], { timeoutMs: 10_000 });
    assert.match(a.stderr, /ERR_ATTRIBUTE_SYNTAX/);
    const j = await runCli(['node', '--data', `${dir.path}/m`]);
    assert.match(j.stderr, /ERR_CONFIG_INVALID.*--join/);
  });
});
