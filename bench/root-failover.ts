/**
 * Several roots on one PostgreSQL: how long a standby takes to lead after the leader is
 * killed (kill -9), over several kills, leaders alternating (the killed root comes back as
 * the standby). Per kill: seconds from the kill to the standby's `ready` (it holds the lease,
 * has loaded the state and listens), to the first acknowledged publish through it, and to the
 * tree being whole again (every member, given both roots, joined to the new leader); after
 * every kill, every publish acknowledged so far must be listed by the new leader.
 * Baseline, in the same run: one embedded root killed and restarted at once by a supervisor
 * (what a single machine gets at best). Options: --kills 10 --members 3
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNetwork, type RunningNode } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { findApiToken } from '../src/client/api-token.js';
import { TestPostgres } from '../test/helpers/postgres.js';
import { runCli } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/oci-registry.js';
import { waitFor } from '../test/helpers/wait.js';
import { log, median, option, round } from './_util.js';

async function listed(root: RunningNode): Promise<string[]> {
  const res = await fetch(`${root.api}/api/contents`, { headers: { authorization: `Bearer ${findApiToken()}` } });
  return ((await res.json()) as { contents: { contentId: string }[] }).contents.map((c) => c.contentId);
}

async function publish(root: RunningNode, file: string, name: string): Promise<string> {
  const r = await runCli(['publish', file, '--name', name, '--json', '--to', root.api]);
  if (r.code !== 0) throw new Error(`publish through ${root.name} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { contentId: string }).contentId;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const kills = Number(option(args, 'kills', '10'));
  const members = Number(option(args, 'members', '3'));
  process.env.CANOPY_READY_TIMEOUT_MS = '120000';
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-failover-'));
  const db = await TestPostgres.start();
  const net = new LocalNetwork(path.join(dir, 'net'));
  const base = new LocalNetwork(path.join(dir, 'base'));
  try {
    writeFileSync(path.join(dir, 'state.key'), randomBytes(32).toString('hex'));
    const rootArgs = ['--root', '--state', db.url(), '--state-key', path.join(dir, 'state.key')];
    const file = path.join(dir, 'small.bin');
    await writeSample(file, 256 * 1024, 'failover-bench');
    const names = ['root-a', 'root-b'];
    const apiPorts = [await freePort(), await freePort()];
    const peerPorts = [await freePort(), await freePort()];
    const args = (i: number) => [...rootArgs, '--api-port', String(apiPorts[i]), '--peer-port', String(peerPorts[i])];
    let leader = await net.spawnNode({ name: names[0]!, attrs: {} }, 0, args(0));
    net.root = leader;
    // Members given both roots: after a kill they find the new leader, and the tree re-forms under it.
    const join = peerPorts.map((p) => `${leader.peer.host}:${p}`).join(',');
    for (let i = 0; i < members; i++) net.nodes.push(await net.spawnNode({ name: `member-${i}`, attrs: { region: 'eu' } }, 2 + i, ['--join', join]));
    await net.waitJoined(members);
    const acknowledged = [await publish(leader, file, 'p0')];
    const takeover: number[] = [];
    const firstPublish: number[] = [];
    const treeWhole: number[] = [];
    const baseline: number[] = [];
    let lost = 0;
    for (let k = 1; k <= kills; k++) {
      // The other root waits as the standby (ready only once it leads).
      const standby = net.spawnNode({ name: names[k % 2]!, attrs: {} }, k % 2, args(k % 2));
      await waitFor('the standby answers', async () => (await fetch(`http://127.0.0.1:${apiPorts[k % 2]}/api/leader`).catch(() => undefined))?.ok === true, 60_000, 100);
      const killedAt = performance.now();
      leader.process.kill('SIGKILL');
      await once(leader.process, 'exit');
      leader = await standby;
      net.root = leader;
      takeover.push((performance.now() - killedAt) / 1000);
      const whole = net.waitJoined(members).then(() => treeWhole.push((performance.now() - killedAt) / 1000));
      acknowledged.push(await publish(leader, file, `p${k}`));
      firstPublish.push((performance.now() - killedAt) / 1000);
      await whole;
      const have = new Set(await listed(leader));
      lost += acknowledged.filter((id) => !have.has(id)).length;
      log(`kill ${k}: standby led after ${round(takeover.at(-1)!)} s, first publish after ${round(firstPublish.at(-1)!)} s, tree whole after ${round(treeWhole.at(-1)!)} s`);

      // Baseline: one embedded root, killed and restarted at once (interleaved with the kills above).
      const first = await base.spawnNode({ name: 'single', attrs: {} }, 0, ['--root']);
      const t0 = performance.now();
      first.process.kill('SIGKILL');
      await once(first.process, 'exit');
      await base.spawnNode({ name: 'single', attrs: {} }, 0, ['--root']).then((n) => (base.root = n));
      baseline.push((performance.now() - t0) / 1000);
      await base.stop();
    }
    net.root = leader;
    return {
      failovers: kills,
      lostAcknowledgedWrites: lost,
      failoverSecondsMedian: round(median(takeover)),
      failoverSecondsMax: round(Math.max(...takeover)),
      firstPublishSecondsMedian: round(median(firstPublish)),
      firstPublishSecondsMax: round(Math.max(...firstPublish)),
      members,
      treeWholeSecondsMedian: round(median(treeWhole)),
      treeWholeSecondsMax: round(Math.max(...treeWhole)),
      baselineRestartSecondsMedian: round(median(baseline)),
      ratioToRestart: round(median(takeover) / median(baseline)),
      takeoverSeconds: takeover.map((x) => round(x)),
      note: 'takeover = lease TTL 3 s (expiry on the database clock) + one 0.5 s round + state load and node start; tree whole = every member joined to the new leader; baseline = an embedded root restarted at once by a supervisor on the same machine',
    };
  } finally {
    await net.stop();
    await base.stop();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
