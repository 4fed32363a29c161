/**
 * Maps `items` through an async `fn` with at most `limit` calls in flight, results in the
 * items' order. For many small independent file-system calls (an lstat per entry of a
 * tree): one after another, each waits a round trip through libuv's thread pool; all at
 * once, a tree of 100,000 entries would queue as many requests. Rejects with the first
 * failure; calls already started are let finish, none is started after it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  await Promise.all(lanes);
  return out;
}
