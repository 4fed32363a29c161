/**
 * Imported first by main.ts: V8's young generation stays at its starting size (semi-spaces
 * of 1 MiB) instead of growing to 16 MiB each. A node moving blocks allocates little on the
 * JavaScript heap per byte (the bytes live outside it), so a large young generation buys it
 * nothing but resident memory: in `distribute` (notes/issue-15.md, Session 8) nodes stayed
 * 12-42 MiB smaller with it, at the same CPU seconds per GiB or fewer (more, cheaper
 * scavenges). Set at run time because Node refuses V8's sizing flags in a shebang-less
 * `node main.js`; an operator who sizes the young generation himself (a semi-space flag in
 * NODE_OPTIONS or on the command line) keeps his choice. Measured on Node 20 (V8 11.3);
 * newer V8 versions raise a growth factor under 2 back to 2 (a flag implication), where
 * this line changes nothing.
 */
import { setFlagsFromString } from 'node:v8';

if (![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'))) setFlagsFromString('--semi-space-growth-factor=1');
