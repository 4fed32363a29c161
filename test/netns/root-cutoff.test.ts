/**
 * Issue 18: a leader cut off from PostgreSQL (not killed) must stop acting as leader before
 * another root leads. Four hosts: the database, two roots on it, a member given both roots.
 * nftables in the leader's namespace drops everything to and from the database host, so
 * the leader's lease renewals hang; the member can still reach it. The leader must exit
 * (deposed, ERR_NOT_LEADER in its log) before the standby, which still reaches the
 * database, takes the lease with the next fencing number; the member follows the new
 * leader, and a publish through it (the CLI given both roots) reaches the member. Started
 * again as its supervisor would, the old leader comes back as a standby.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeSample } from '../../src/demo/sample.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { runCommand } from '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { CanopyCluster, type ClusterNode } from './canopy-cluster.js';
import { NetnsHarness } from './harness.js';

/** When a node logged a line matching `re` (ms since the epoch). */
function logTime(dataDir: string, re: RegExp): number {
  const line = readFileSync(path.join(dataDir, 'node.log'), 'utf8').split('\n').find((l) => re.test(l));
  assert.ok(line, `no log line ${re} in ${dataDir}`);
  return Date.parse((JSON.parse(line) as { time: string }).time);
}

describe('a leader cut off from PostgreSQL stops before a standby leads', () => {
  const dir = keptOnFailure('canopy-i18-cutoff-');
  let harness: NetnsHarness;
  let db: TestPostgres;

  before(() => {
    // The namespaces are this test's own private network: the CLI may send its token over plain http there.
    process.env.CANOPY_INSECURE_HTTP = '1';
    // The roots come first: CanopyCluster takes host 0 for "the root" (its token and status calls).
    harness = NetnsHarness.create([{ name: 'ra' }, { name: 'rb' }, { name: 'm1' }, { name: 'db' }]);
  });
  after(async () => {
    await harness?.stop();
    await db?.stop();
    dir.removeIfPassed();
  });

  // Bounded: a leader that never stops (the defect this test found first) must fail the run, not hang it.
  it('the cut-off leader exits, the standby takes over with fence 2, the member follows it, the old leader restarts as a standby', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const dbHost = harness.host('db');
    db = await TestPostgres.start({ host: dbHost.ip, prefix: ['ip', 'netns', 'exec', dbHost.ns] });
    const keyFile = path.join(dir.path, 'state.key');
    assert.equal((await runCommand('sh', ['-c', `openssl rand -hex 32 > ${keyFile}`])).code, 0);
    const state = ['--state', db.url(), '--state-key', keyFile];
    const cluster = new CanopyCluster(harness, path.join(dir.path, 'net'));
    const [ra, rb, m1] = ['ra', 'rb', 'm1'].map((n) => harness.host(n));
    const a = await cluster.startNode(ra!, ['--root', '--authorise-publisher', loadOrCreateKeyFile(defaultKeyPath()).publicKey, ...state]);
    // The standby: fixed ports (its own namespace), ready only once it leads.
    const bReady = cluster.startNode(rb!, ['--root', ...state, '--peer-port', '7400', '--api-port', '7401']);
    // The admin API listens on loopback (the default): asked from inside the standby's namespace.
    const standbyApi = 'http://127.0.0.1:7401';
    await waitFor('the standby answers', async () => harness.exec(rb!.ns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${standbyApi}/api/leader`]) === '200', 60_000, 200);
    const m = await cluster.startNode(m1!, ['--join', `${a.peer},${rb!.ip}:7400`, '--attr', 'region=eu']);
    const file = path.join(dir.path, 'one.bin');
    await writeSample(file, 2 * 2 ** 20, 'cutoff-1');
    const first = cluster.publish(file, { criteria: 'region=eu' });
    await cluster.waitComplete(first, { include: ['m1'], timeoutMs: 60_000 });

    // Cut the leader off from the database host, both ways; its other links stay up.
    const cutAt = Date.now();
    harness.exec(ra!.ns, ['nft', '-f', '-'], `table inet cut_db {\n chain out { type filter hook output priority 0; policy accept; ip daddr ${dbHost.ip} drop; }\n chain in { type filter hook input priority 0; policy accept; ip saddr ${dbHost.ip} drop; }\n}\n`);
    const [code] = (await once(a.process, 'exit')) as [number | null];
    const exitedMs = Date.now() - cutAt;
    // Status 1 (ERR_NOT_LEADER), which the packaged units' Restart=on-failure restarts (test/unit/ops/systemd-units.test.ts).
    assert.equal(code, 1, 'the deposed leader exits with an error');
    assert.match(readFileSync(path.join(a.dataDir, 'node.log'), 'utf8'), /lost its leader lease \(fence 1\): the lease could not be renewed in time/);
    // Its stop ran to the end (no wait on the dead database): not cut short by the forced exit of a deposed node.
    const stoppedAt = logTime(a.dataDir, /"msg":"node stopped"/);

    const b: ClusterNode = await bReady;
    const leadingMs = Date.now() - cutAt;
    // Both logs on this machine's clock: the old leader stopped acting before the standby took the lease.
    const deposedAt = logTime(a.dataDir, /"msg":"deposed"/);
    const tookAt = logTime(b.dataDir, /"msg":"took the leader lease"/);
    assert.ok(deposedAt < tookAt, `the old leader stopped (${deposedAt - cutAt} ms after the cut) before the standby took the lease (${tookAt - cutAt} ms)`);
    assert.equal(db.psql('canopy', 'SELECT fence FROM canopy_lease'), '2');

    // The database reachable again, the old leader is started again as its supervisor would (the
    // packaged unit, Restart=on-failure): on its data directory, it comes back as a standby.
    harness.exec(ra!.ns, ['nft', 'delete', 'table', 'inet', 'cut_db']);
    const restartedAt = Date.now();
    // Ready only if it leads, which it must not: its promise is left pending (fixed ports, asked through curl below).
    cluster.startNode(ra!, [...a.args, '--peer-port', '7400', '--api-port', '7401']).catch(() => undefined);

    // The member follows the new leader; a publish with both roots given reaches it.
    const file2 = path.join(dir.path, 'two.bin');
    const sha2 = await writeSample(file2, 2 * 2 ** 20, 'cutoff-2');
    const out = cluster.cli(rb!, ['publish', file2, '--name', 'two', '--criteria', 'region=eu', '--json', '--to', `${a.api},${b.api}`]).trim().split('\n');
    const second = (JSON.parse(out[out.length - 1]!) as { contentId: string }).contentId;
    await waitFor('the member holds the content published through the new leader', async () => cluster.getJson<{ local: { complete: boolean } }>(m1!, `${m.api}/api/contents/${second}`).local.complete, 60_000, 250);
    assert.equal(cluster.servedSha256('m1', second), sha2);
    assert.equal(b.api, standbyApi);
    let restarted: { role?: string; fence?: number } = {};
    await waitFor('the restarted old leader answers as a standby', async () => {
      restarted = JSON.parse(harness.exec(ra!.ns, ['curl', '-s', 'http://127.0.0.1:7401/api/leader']) || '{}') as typeof restarted;
      return restarted.role !== undefined;
    }, 60_000, 200);
    assert.deepEqual([restarted.role, restarted.fence], ['standby', 2]);
    const restartedStandbyMs = Date.now() - restartedAt;
    assert.equal(db.psql('canopy', 'SELECT fence FROM canopy_lease'), '2', 'the lease stayed with the new leader');
    console.log(JSON.stringify({ deposedAfterCutMs: deposedAt - cutAt, leaseTakenAfterCutMs: tookAt - cutAt, stoppedAfterDeposedMs: stoppedAt - deposedAt, exitedAfterCutMs: exitedMs, standbyReadyAfterCutMs: leadingMs, restartedStandbyMs, wallSeconds: (Date.now() - t0) / 1000 }));
  });
});
