/** Lifecycle options that do not parse get a coded error from the real CLI before anything is sent. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';

describe('lifecycle CLI errors', () => {
  const dir = tempDir('canopy-test-9-cli-');
  after(() => dir.remove());
  const file = `${dir.path}/a.bin`;
  writeFileSync(file, 'x');
  const nowhere = ['--to', 'http://127.0.0.1:9'];

  for (const [option, value, message] of [
    ['--chunking', 'rabin', /--chunking: "rabin" must be fixed or cdc/],
    ['--expires', 'tomorrow', /expires: "tomorrow" is neither an ISO time/],
    ['--expires', '2020-01-01T00:00Z', /expires: "2020-01-01T00:00Z" is in the past/],
    ['--expires', '0s', /expires: "0s" is zero/],
    ['--window', '25:00-01:00', /window "25:00-01:00" must be HH:MM-HH:MM/],
    ['--rate', 'fast', /invalid size "fast"/],
  ] as const) {
    it(`refuses publish ${option} ${value}`, async () => {
      const r = await runCli(['publish', file, option, value, ...nowhere]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /canopy: error \[ERR_(USAGE|SIZE_SYNTAX)\]/);
      assert.match(r.stderr, message);
    });
  }

  it('says when the root cannot be reached for a withdrawal', async () => {
    const r = await runCli(['withdraw', 'build.bin', ...nowhere, '--json']);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stderr) as { error: { code: string } }).error.code, 'ERR_UNREACHABLE');
  });
});
