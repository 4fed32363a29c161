/**
 * The refresh loop of the live views (`canopy status --watch`, `canopy top`): calls `frame`
 * every `intervalMs` until it says it is done. Ctrl-C does not kill the process mid-draw: the
 * next call is told it is the last (`interrupted`), so a view can print its final state.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function liveLoop(intervalMs: number, frame: (interrupted: boolean) => Promise<boolean>): Promise<void> {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  try {
    for (;;) {
      const last = interrupted;
      if ((await frame(last)) || last) return;
      await sleep(intervalMs);
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}
