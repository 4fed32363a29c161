// A publisher key that begins with '-' (1 in 64) is an operand, not an option: the words
// before the program parses (dash-operands.ts), then the real CLI on such a key.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { keysAsOperands } from '../../../src/cli/dash-operands.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const dashKey = fc.array(fc.constantFrom(...B64URL.split('')), { minLength: 42, maxLength: 42 }).map((c) => `-${c.join('')}`);
const valueOpts = new Set(['--to', '--name', '--key']);
const takesValue = (w: string) => valueOpts.has(w);
const word = fc.oneof(fc.constantFrom('publishers', 'add', 'remove', '--json', '--to', '--name', 'http://127.0.0.1:7401', 'alice', '-v'), fc.string({ maxLength: 12 }));
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.ts');

describe('publisher keys that begin with "-"', () => {
  it('moves a key-shaped word after "--" unless it is the value of the option before it; leaves everything else as it was', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), dashKey, fc.nat(8), (words, key, at) => {
        const args = [...words.slice(0, at), key, ...words.slice(at)].filter((w) => w !== '--');
        const out = keysAsOperands(args, takesValue);
        const i = args.indexOf(key);
        if (i > 0 && takesValue(args[i - 1]!)) assert.deepEqual(out, args);
        else {
          assert.deepEqual(out.slice(out.indexOf('--') + 1), [key], 'the key alone after "--"');
          assert.deepEqual(out.slice(0, out.indexOf('--')), args.filter((_, k) => k !== i), 'the other words in their order');
        }
        assert.deepEqual(keysAsOperands(words.filter((w) => w !== '--' && !/^-[A-Za-z0-9_-]{42}$/.test(w)), takesValue), words.filter((w) => w !== '--' && !/^-[A-Za-z0-9_-]{42}$/.test(w)), 'no key: unchanged');
      }),
      { numRuns: 300 },
    );
    // Words after an existing "--" stay after it, after the moved key.
    assert.deepEqual(keysAsOperands(['remove', '-8uh-E4BOAt5JYGw3iV-AxZxnPE31EFre_iBSVqoTAQ', '--', 'x'], takesValue), ['remove', '--', '-8uh-E4BOAt5JYGw3iV-AxZxnPE31EFre_iBSVqoTAQ', 'x']);
  });

  it('the CLI takes such a key for "publishers add" and "remove" (it then fails only for want of a network)', () => {
    const key = '-8uh-E4BOAt5JYGw3iV-AxZxnPE31EFre_iBSVqoTAQ';
    for (const args of [['publishers', 'add', key, '--to', 'http://127.0.0.1:9', '--json'], ['publishers', 'remove', '--json', key, '--to', 'http://127.0.0.1:9']]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8' });
      // (--json: the error is one JSON line, on standard error.)
      const out = JSON.parse(`${r.stdout}${r.stderr}`.trim().split('\n').pop()!) as { error: { code: string } };
      assert.equal(out.error.code, 'ERR_UNREACHABLE', `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
  });
});
