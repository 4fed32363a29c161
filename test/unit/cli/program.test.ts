// The CLI loads only the command it runs; help and typos still see every command.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram, commandOf } from '../../../src/cli/program.js';

describe('canopy command loading', () => {
  it('finds the command an argument list runs, past global options', () => {
    assert.equal(commandOf(['status', 'abc', '--json']), 'status');
    assert.equal(commandOf(['--ca', 'node', 'ls']), 'ls');
    assert.equal(commandOf(['--insecure-http', 'api-token', 'list']), 'api-token');
    assert.equal(commandOf(['--help']), undefined);
    assert.equal(commandOf(['help', 'status']), undefined);
    assert.equal(commandOf(['statsu']), undefined);
    assert.equal(commandOf([]), undefined);
  });

  it('builds one command alone, or all of them in help order', async () => {
    const one = await buildProgram('ls');
    assert.deepEqual(one.commands.map((c) => c.name()), ['ls']);
    const all = await buildProgram();
    const names = all.commands.map((c) => c.name());
    assert.deepEqual(names.slice(0, 6), ['node', 'publish', 'ingest', 'keys', 'status', 'ls']);
    assert.equal(names.length, 18);
  });
});
