/**
 * A process that writes blocks into a BlockStore as fast as the group commit takes them
 * (32 puts in flight over the volumes given) and prints the hash of each block whose put
 * has resolved, one per line, until it is killed. Used by the crash test of the batched
 * write path: every printed block must be visible and whole after a SIGKILL.
 * Usage: node --import tsx test/helpers/store-writer.ts DATA VOLUME...
 */
import { randomBytes } from 'node:crypto';
import { BlockStore } from '../../src/store/block-store.js';

const [data, ...volumes] = process.argv.slice(2);
const store = new BlockStore(data!, volumes.map((v) => ({ path: v })));
let index = 0;
const writer = async () => {
  for (;;) {
    // Odd sizes: the O_DIRECT path pads and truncates the last chunk.
    const block = randomBytes(64 * 1024 + Math.floor(Math.random() * 200_000));
    const hash = await store.put(block, undefined, { stripe: 'crash', index: index++ });
    process.stdout.write(`${hash}\n`);
  }
};
await Promise.all(Array.from({ length: 32 }, writer));
