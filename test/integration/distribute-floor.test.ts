/**
 * The distribute bench's floor (`npm run bench -- distribute --floor`, bench/_distribute-floor.ts):
 * minimal Node.js processes publish and spread a file on loopback, and every one of them must
 * have hashed the file's exact blocks. Here on a small file whose last block is short, alone
 * and inside the bench, whose JSON must carry the floor's figures.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runDistributeFloor } from '../../bench/_distribute-floor.js';
import { run } from '../../bench/distribute.js';
import { tempDir } from '../helpers/cli.js';

describe('distribute floor', () => {
  const dir = tempDir('canopy-distribute-floor-');
  after(() => dir.remove());

  it('moves a file to both members through the root, every block hashed right', async () => {
    const file = path.join(dir.path, 'content.bin');
    // 9 blocks of 1 MiB and a short tenth: the members' stripes differ in length.
    writeFileSync(file, randomBytes(9 * 2 ** 20 + 777));
    const r = await runDistributeFloor(file, path.join(dir.path, 'run'), 2 ** 20);
    assert.deepEqual(Object.keys(r.byProcess).sort(), ['m0', 'm1', 'publisher', 'root']);
    for (const [name, cpu] of Object.entries(r.byProcess)) assert.ok(cpu > 0, `${name} used no CPU`);
    assert.ok(r.seconds > 0 && r.seconds >= Math.max(r.doneSeconds.root!, r.doneSeconds.m0!, r.doneSeconds.m1!) - 1e-9);
    assert.ok(r.systemSeconds <= r.cpuSeconds);
    assert.ok(r.peakRssMiB > 0);
  });

  it('is reported by the bench next to Canopy and cp + sync', async () => {
    const out = await run(['--nodes', '2', '--size', '8MiB', '--rounds', '1', '--floor']);
    for (const k of ['floorSeconds', 'floorCpuSecondsPerGiB', 'floorVsCp', 'ratioVsFloor', 'cpuRatioVsFloor']) assert.equal(typeof out[k], 'number', `${k}: ${String(out[k])}`);
    const rounds = out.floorByRound as { byProcess: Record<string, number>; networkCpuSeconds: number }[];
    assert.equal(rounds.length, 1);
    assert.equal(Object.keys(rounds[0]!.byProcess).length, 4);
    assert.equal(typeof rounds[0]!.networkCpuSeconds, 'number');
  });
});
