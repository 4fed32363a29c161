// Preloaded (NODE_OPTIONS=--import) into a process a bench starts, to measure how long its
// main thread's event loop was held: a 20 ms timer notes how late each turn fired, and every
// stall over 50 ms is kept with when it ended (epoch ms), so the bench can say which phase
// it fell in. Written to CANOPY_LOOP_STALL_DIR/<pid>.json when the process exits (normally,
// by process.exit, or after an uncaught error; a SIGKILLed process leaves nothing). No signal
// handler of its own: a node stopping on SIGTERM exits through 'exit', and a handler here
// would change whether a signal ends a process that has none.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setInterval } from 'node:timers';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.CANOPY_LOOP_STALL_DIR;
if (dir && isMainThread) {
  const EVERY_MS = 20;
  const KEEP_OVER_MS = 50;
  const stalls = [];
  let due = performance.now() + EVERY_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - due;
    due = now + EVERY_MS;
    if (late > KEEP_OVER_MS && stalls.length < 100_000) stalls.push([Date.now(), Math.round(late)]);
  }, EVERY_MS);
  timer.unref();
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify({ everyMs: EVERY_MS, keptOverMs: KEEP_OVER_MS, stalls }));
  };
  process.on('exit', write);
}
