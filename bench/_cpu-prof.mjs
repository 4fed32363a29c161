// Preloaded (NODE_OPTIONS=--import) into every Node process a profiled bench starts, since
// Node 20 refuses --cpu-prof in NODE_OPTIONS: samples the main thread with the inspector
// and writes CANOPY_CPU_PROF_DIR/<pid>.cpuprofile when the process exits (normally or on
// SIGTERM/SIGINT; a SIGKILLed process leaves no profile).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.CANOPY_CPU_PROF_DIR;
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // Inspector calls on the process's own session complete synchronously.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify({ ...result.profile, argv: process.argv.slice(1) }));
    });
  };
  process.on('exit', write);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      write();
      // Only when nobody else handles the signal, exit as the default action would.
      if (process.listenerCount(signal) === 1) process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
}
