/**
 * A process that writes blocks into a BlockStore as fast as the group commit takes them
 * (32 puts in flight over the volumes given) and prints the hash of each block whose put
 * has resolved, one per line, until it is killed. Used by the crash test of the batched
 * write path: every printed block must be visible and whole after a SIGKILL. Half the
 * writers go the ingest's way (stageHashed: the buffer is taken back, and here scribbled
 * over, as soon as the bytes are staged; the hash is printed once the block is durable, or,
 * for a deferred one, committed with its directory sync put off: visible and whole).
 * Usage: node --import tsx test/helpers/store-writer.ts DATA VOLUME...
 */
import { createHash, randomBytes } from 'node:crypto';
import { BlockStore } from '../../src/store/block-store.js';
import { SMALL_BLOCK_BYTES } from '../../src/store/small-write.js';

const [data, ...volumes] = process.argv.slice(2);
const store = new BlockStore(data!, volumes.map((v) => ({ path: v })));
let index = 0;
const writer = async (early: boolean) => {
  for (;;) {
    // Odd sizes, half of them small (staged buffered on the event loop, small-write.ts), half
    // larger (the O_DIRECT path, which pads and truncates the last chunk).
    const small = Math.random() < 0.5;
    const block = randomBytes(small ? 1 + Math.floor(Math.random() * SMALL_BLOCK_BYTES) : SMALL_BLOCK_BYTES + 1 + Math.floor(Math.random() * 200_000));
    const hint = { stripe: 'crash', index: index++ };
    if (!early) {
      process.stdout.write(`${await store.put(block, undefined, hint)}\n`);
      continue;
    }
    const hash = createHash('sha256').update(block).digest('hex');
    // Every other one deferred, as an ingest's: renamed and indexed with its directory sync put
    // off (dir-sync.ts); a deferred small one goes into its batch's pack (pack-write.ts).
    const { durable } = await store.stageHashed(hash, block, hint, index % 2 === 0);
    block.fill(0xee); // The store must not read the buffer after staging.
    await durable;
    process.stdout.write(`${hash}\n`);
  }
};
await Promise.all(Array.from({ length: 32 }, (_, i) => writer(i % 2 === 1)));
