// Short-lived commands compile WebAssembly (undici's HTTP parser) with the baseline compiler
// only; a node keeps the optimising tier for it, and runs hot JavaScript without Maglev.
// Checked in child processes, where V8's own natives say which compiler a hot function ended up with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const module = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/compiler-tiers.ts')).href;
// (module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))
const WASM = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 32, 0, 65, 1, 106, 11];

/** Whether a WebAssembly function called hot after tuneForCommand(command) was optimised. */
function optimised(command: string): boolean {
  const script = `
    const { tuneForCommand } = await import(${JSON.stringify(module)});
    tuneForCommand(${JSON.stringify(command)});
    const { instance } = await WebAssembly.instantiate(new Uint8Array(${JSON.stringify(WASM)}));
    const f = instance.exports.f;
    for (let i = 0; i < 2e6; i++) f(i);
    await new Promise((r) => setTimeout(r, 300));
    console.log(JSON.stringify({ turbofan: %IsTurboFanFunction(f) }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { turbofan: boolean }).turbofan;
}

/**
 * Whether a JavaScript function asked to be compiled by Maglev is, after
 * tuneForCommand(command, execArgv); with no command, in a process as Node starts it.
 */
function maglevCompiles(command?: string, execArgv: string[] = []): boolean {
  const tune = command === undefined ? '' : `const { tuneForCommand } = await import(${JSON.stringify(module)});
    tuneForCommand(${JSON.stringify(command)}, ${JSON.stringify(execArgv)});`;
  const script = `
    ${tune}
    function f(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s; }
    const a = [1, 2, 3];
    %PrepareFunctionForOptimization(f);
    f(a);
    %OptimizeMaglevOnNextCall(f);
    f(a);
    console.log(JSON.stringify({ maglev: %ActiveTierIsMaglev(f) }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { maglev: boolean }).maglev;
}

describe('compiler tiers by command', () => {
  // Whether this runtime uses Maglev when nobody chose, asked of V8 itself: not the V8 version,
  // since Node 24 has it on, Node 20's V8 11 has no such tier, and Node 22 had it on in its
  // first releases and off in later ones (22.23: `--no-maglev` by default).
  const maglevByDefault = maglevCompiles();
  it('a node runs hot JavaScript without Maglev, unless its operator asked for it', { skip: maglevByDefault ? false : `Node ${process.version} (V8 ${process.versions.v8}) does not use Maglev by default` }, () => {
    assert.equal(maglevCompiles('status'), true, 'a short-lived command leaves Maglev as it is');
    assert.equal(maglevCompiles('node'), false);
    assert.equal(maglevCompiles('node', ['--maglev']), true);
  });

  it('a node keeps the optimising compiler', () => {
    assert.equal(optimised('node'), true);
  });

  // V8 12+ (Node 22, 24) reads the flag only at start and tiers up lazily anyway: `canopy ls`
  // costs the same there with or without it (compiler-tiers.ts), so only V8 11 (Node 20) is checked.
  const v8Major = Number(process.versions.v8.split('.')[0]);
  it('a short-lived command stays on the baseline compiler', { skip: v8Major >= 12 ? `V8 ${process.versions.v8} tiers WebAssembly up lazily; the flag is for V8 11` : false }, () => {
    assert.equal(optimised('ls'), false);
    assert.equal(optimised('status'), false);
  });
});
