/**
 * Words that begin with `-` and are operands, not options. An Ed25519 public key is 43
 * characters of base64url, and one in 64 begins with `-`: commander reads any word that
 * begins with `-` as an option, so `canopy publishers add KEY` stopped at "unknown option"
 * for those keys. Before the program parses, such a word goes after a `--`, where commander
 * takes words as operands, unless it is the value of the option just before it (commander
 * gives an option with a value the next word as it is: `--authorise-publisher KEY` was never
 * affected). Operands moved so come after the others; the commands that take a key take it
 * as their only operand.
 */
import type { Command } from 'commander';
import { isPublicKeyText } from '../core/manifest-signature.js';

/** A publisher's public key that begins with `-`. */
const isDashKey = (word: string): boolean => word.startsWith('-') && isPublicKeyText(word);

/** `args` (the words after the script) with key-shaped words that are not option values moved after `--`. */
export function keysAsOperands(args: readonly string[], takesValue: (word: string) => boolean): string[] {
  const end = args.indexOf('--');
  const head = end < 0 ? args : args.slice(0, end);
  const tail = end < 0 ? [] : args.slice(end + 1);
  const kept: string[] = [];
  const moved: string[] = [];
  head.forEach((word, i) => (isDashKey(word) && !(i > 0 && takesValue(head[i - 1]!)) ? moved : kept).push(word));
  return moved.length === 0 ? [...args] : [...kept, '--', ...moved, ...tail];
}

/** Every option word (long and short) of `program` and its commands that takes a value. */
export function valueOptions(program: Command): Set<string> {
  const words = new Set<string>();
  const visit = (c: Command): void => {
    for (const o of c.options) if (o.required || o.optional) for (const w of [o.long, o.short]) if (w) words.add(w);
    c.commands.forEach(visit);
  };
  visit(program);
  return words;
}
