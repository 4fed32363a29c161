/** A registry blob body for unit tests: its chunks are released one by one by the test (`step`), like a slow registry. */
import type { BlobStream } from '../../src/registry/registry-client.js';

export function gatedBody(chunks: Buffer[], length: number | undefined) {
  const gates = chunks.map(() => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  });
  let i = 0;
  async function* gen() {
    for (const [n, c] of chunks.entries()) {
      await gates[n]!.promise;
      yield c;
    }
  }
  const body = Object.assign(gen(), { destroy: () => undefined });
  return { stream: { length, body } as BlobStream, step: () => gates[i++]!.resolve() };
}
