/**
 * A root whose state lives in PostgreSQL, with real processes (`canopy node --root --state
 * postgres://...`) against a real, throw-away PostgreSQL: publish, join, withdraw, then the
 * root restarts with its local catalog cache deleted and finds everything in the database:
 * contents and their state, the member's attested record, the used join token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNetwork, stopProcess, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { TestPostgres } from '../helpers/postgres.js';

interface Listed {
  contentId: string;
  name: string;
  state: string;
}

async function contents(root: RunningNode): Promise<Listed[]> {
  const res = await apiFetch(`${root.api}/api/contents`);
  return ((await res.json()) as { contents: Listed[] }).contents;
}

describe('a root on PostgreSQL (real processes)', () => {
  const dir = tempDir('canopy-test-18-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  const keyFile = path.join(dir.path, 'state.key');
  let db: TestPostgres;
  let rootArgs: string[] = [];
  const startRoot = async () => (network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, rootArgs));
  const cli = (...args: string[]) => runCli([...args, '--to', network.root!.api]);

  before(async () => {
    db = await TestPostgres.start();
    // The command docs/OPERATIONS.md gives, as written.
    const made = await runCommand('sh', ['-c', `cd ${dir.path} && openssl rand -hex 32 > state.key && chmod 600 state.key`]);
    assert.equal(made.code, 0, made.stderr);
    rootArgs = ['--root', '--state', db.url(), '--state-key', keyFile];
  });
  after(async () => {
    await network.stop();
    await db?.stop();
    dir.remove();
  });

  it('keeps contents, withdrawals, members and used join tokens in the database across a restart', async () => {
    const root = await startRoot();
    const join = ['--join', `${root.peer.host}:${root.peer.port}`];
    const token = await network.joinToken({ region: 'eu' });
    const member = await network.spawnNode({ name: 'eu-a', attrs: { region: 'eu' } }, 1, [...join, '--token', token]);
    network.nodes.push(member);
    await network.waitJoined(1);

    const file = path.join(dir.path, 'build.bin');
    await writeSample(file, 3 * 2 ** 20, 'pg-root');
    const kept = lastJson<{ contentId: string }>((await cli('publish', file, '--name', 'kept', '--criteria', 'region=eu', '--json')).stdout).contentId;
    const pulled = lastJson<{ contentId: string }>((await cli('publish', file, '--name', 'pulled', '--criteria', 'region=eu', '--json')).stdout).contentId;
    const w = await cli('withdraw', pulled, '--reason', 'bad build', '--json');
    assert.equal(w.code, 0, w.stderr);

    // Acknowledged means written: the rows are there as soon as the commands return.
    const rows = await db.query<{ id: string }>('SELECT id FROM canopy_contents ORDER BY id');
    assert.deepEqual(rows.map((r) => r.id).sort(), [kept, pulled].sort());
    assert.deepEqual(await db.query('SELECT id, reason FROM canopy_withdrawals'), [{ id: pulled, reason: 'bad build' }]);
    const [auth] = await db.query<{ state: { records: Record<string, { attrs: Record<string, string> }>; usedTokens: Record<string, number> } }>('SELECT state FROM canopy_authority');
    assert.deepEqual(auth!.state.records[member.nodeId]!.attrs, { region: 'eu' });
    assert.equal(Object.keys(auth!.state.usedTokens).length, 1);
    assert.equal(existsSync(path.join(root.dataDir, 'security', 'authority.json')), false, 'the authority state lives in the database, not the data directory');

    // Restart the root without its local catalog (the index is its cache): the database has it all.
    await stopProcess(member.process);
    await stopProcess(root.process);
    for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) rmSync(path.join(root.dataDir, f), { force: true });
    await startRoot();
    const listed = await contents(network.root!);
    assert.deepEqual(listed.map((c) => [c.contentId, c.name, c.state]).sort(), [
      [kept, 'kept', 'live'],
      [pulled, 'pulled', 'withdrawn'],
    ].sort());
    // The member's record is known (its attributes can be re-signed by id) and its token stays used.
    const set = await cli('nodes', 'set-attrs', member.nodeId, 'region=us', '--json');
    assert.equal(set.code, 0, set.stderr);
    await assert.rejects(network.spawnNode({ name: 'eu-b', attrs: {} }, 2, ['--join', `${network.root!.peer.host}:${network.root!.peer.port}`, '--token', token]));
    assert.match(readFileSync(path.join(dir.path, 'net', 'eu-b', 'node.log'), 'utf8'), /already used/);
  });

  it('refuses to start a root with the wrong state key file, writing nothing', async () => {
    await stopProcess(network.root!.process);
    const before = await db.query('SELECT state FROM canopy_authority');
    writeFileSync(keyFile, randomBytes(32).toString('hex'));
    await assert.rejects(startRoot());
    assert.match(readFileSync(path.join(dir.path, 'net', 'root', 'node.log'), 'utf8'), /ERR_STATE_KEY|does not open/);
    assert.deepEqual(await db.query('SELECT state FROM canopy_authority'), before);
  });

  it('moves an embedded root into PostgreSQL with canopy root migrate --from, once, and only into its own network', async () => {
    const emb = new LocalNetwork(path.join(dir.path, 'emb'));
    try {
      const root = (emb.root = await emb.spawnNode({ name: 'root', attrs: {} }, 0, ['--root']));
      const file = path.join(dir.path, 'moved.bin');
      await writeSample(file, 2 ** 20, 'moved');
      const id = lastJson<{ contentId: string }>((await runCli(['publish', file, '--name', 'moved', '--json', '--to', root.api])).stdout).contentId;
      await stopProcess(root.process);
      await db.query('CREATE DATABASE moved');
      const moved = db.url('moved');
      const migrate = (url: string) => runCli(['root', 'migrate', '--state', url, '--state-key', keyFile, '--from', root.dataDir, '--json']);
      const first = await migrate(moved);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(lastJson<{ imported: { contents: number; withdrawals: number } }>(first.stdout).imported.contents, 1);
      assert.equal((await migrate(moved)).code, 0, 'a re-run adds nothing and succeeds');
      const other = await migrate(db.url());
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /ERR_STATE_MISMATCH/);
      // The same root, on the database now: the catalog comes from it (its index is gone).
      for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) rmSync(path.join(root.dataDir, f), { force: true });
      const again = (emb.root = await emb.spawnNode({ name: 'root', attrs: {} }, 0, ['--root', '--state', moved, '--state-key', keyFile]));
      assert.deepEqual((await contents(again)).map((c) => [c.contentId, c.state]), [[id, 'live']]);
    } finally {
      await emb.stop();
    }
  });
});
