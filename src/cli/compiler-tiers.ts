/**
 * V8's compiler tiers, chosen by what the command is for; set before the command's own
 * modules load, so before anything of it runs hot.
 *
 * Every `canopy` command but `node` lives for a fraction of a second (or polls small answers,
 * as `top` and `status --watch` do), and on Node 20 (V8 11.3) such a command spent ~0.07 CPU s
 * of its ~0.28 compiling undici's HTTP parser (llhttp, WebAssembly) with the optimising
 * compiler, work a process this short never earns back. These commands compile WebAssembly
 * with the baseline compiler only: `canopy ls` against a running network 0.27-0.29 CPU s and
 * 0.26-0.31 s wall before, 0.20-0.22 and 0.19-0.21 after (notes/issue-15.md, Session 19).
 * A body read through it costs the same either way (1 GiB over loopback, content-length or
 * chunked: 1.23-1.53 CPU s with either compiler): the parser skips over body bytes. Node 24's
 * V8 tiers WebAssembly up lazily and gains nothing (0.18-0.21 either way).
 *
 * A node lives for days: its JavaScript goes from the baseline tier to TurboFan (after 3,000
 * calls) without Maglev, V8's middle tier (on by default in Node 24 and in Node 22's first
 * releases, off again by 22.23; after 400 calls). Maglev's code, its compiler's pages and
 * compile zones were ~3 MiB of a swarm member's peak RSS: 8-node swarm bench on Node 24, six
 * pairs, member peak RSS 95.4-96.1 -> 92.0-92.7 MiB (median), CPU the same or less (7.6 / 7.3
 * CPU s per GiB moved, means). In a 256 MiB run most of a member's warm functions stay in the
 * baseline tier without Maglev (perf of the members: the wire's hottest few reach TurboFan,
 * some 540 run as baseline code; notes/issue-15.md, Session 20). A lower TurboFan threshold
 * (500 calls) was measured and costs more: 8.25 -> 9.0 CPU s per GiB and 3-4 MiB more peak RSS
 * in four pairs (Session 21).
 * An operator who starts node with a Maglev flag of his own keeps his choice.
 */
import { setFlagsFromString } from 'node:v8';

/** Flags for the command (`command` as the program parsed it, undefined for help or a typo). */
export function tuneForCommand(command: string | undefined, execArgv: readonly string[] = process.execArgv): void {
  if (command !== 'node') setFlagsFromString('--liftoff-only');
  else if (!execArgv.some((a) => a.includes('maglev'))) setFlagsFromString('--no-maglev');
}
