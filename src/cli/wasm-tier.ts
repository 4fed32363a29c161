/**
 * Every `canopy` command but `node` lives for a fraction of a second (or polls small answers,
 * as `top` and `status --watch` do), and on Node 20 (V8 11.3) such a command spent ~0.07 CPU s
 * of its ~0.28 compiling undici's HTTP parser (llhttp, WebAssembly) with the optimising
 * compiler, work a process this short never earns back. These commands compile WebAssembly
 * with the baseline compiler only: `canopy ls` against a running network 0.27-0.29 CPU s and
 * 0.26-0.31 s wall before, 0.20-0.22 and 0.19-0.21 after (notes/issue-15.md, Session 19).
 * A body read through it costs the same either way (1 GiB over loopback, content-length or
 * chunked: 1.23-1.53 CPU s with either compiler): the parser skips over body bytes. Node 24's
 * V8 tiers WebAssembly up lazily and gains nothing (0.18-0.21 either way). A node lives for
 * days and is left as it is. Set before any request, so before undici compiles its parser.
 */
import { setFlagsFromString } from 'node:v8';

/** Flags for a short-lived command (`command` as the program parsed it, undefined for help or a typo). */
export function tuneForCommand(command: string | undefined): void {
  if (command === 'node') return;
  setFlagsFromString('--liftoff-only');
}
