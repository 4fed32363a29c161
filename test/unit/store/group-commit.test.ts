import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../../src/store/group-commit.js';

/** A group commit that records its batches; `hold` says whether more items are on their way. */
function recorder(hold: () => boolean, lingerMs = 10_000) {
  const batches: number[][] = [];
  const commit = new GroupCommit<number>(
    async (items) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 1));
    },
    64,
    { hold, lingerMs },
  );
  return { batches, commit };
}

describe('group commit', () => {
  it('holds deferrable items while more are on their way, and commits them together when kicked', async () => {
    let coming = true;
    const { batches, commit } = recorder(() => coming);
    const done = [1, 2, 3, 4, 5].map((i) => commit.submit(i, true));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(batches, [], 'nothing committed while more is coming');
    coming = false;
    commit.kick();
    await Promise.all(done);
    assert.deepEqual(batches, [[1, 2, 3, 4, 5]]);
  });

  it('commits at once for an item someone waits on, taking the held ones along', async () => {
    const { batches, commit } = recorder(() => true);
    const held = [1, 2].map((i) => commit.submit(i, true));
    await commit.submit(3);
    await Promise.all(held);
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('waits no longer than its linger bound', async () => {
    const { batches, commit } = recorder(() => true, 30);
    await commit.submit(1, true);
    assert.deepEqual(batches, [[1]]);
  });

  it('never holds a full batch', async () => {
    const { batches, commit } = recorder(() => true);
    const done = Array.from({ length: 64 }, (_, i) => commit.submit(i, true));
    // The commit started within the 64th submit, without waiting for the (10 s) linger bound.
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.length, 64);
    await Promise.all(done);
  });
});
