/**
 * What the packaged systemd units promise an operator of several roots (docs/OPERATIONS.md,
 * "Running several roots"): a root that loses its leader lease reports ERR_NOT_LEADER and
 * exits with status 1 (src/cli/node-lifecycle.ts), and the units restart a process that
 * exits so, after a pause and however often (no start limit on the root's unit), with no
 * supervisor of the operator's own; a stop asked for (SIGTERM, exit 0) is not restarted. test/netns/root-cutoff.test.ts checks the exit itself and
 * the restart as a standby; test/package/deb.test.ts runs systemd-analyze verify on the units.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/output.js';
import { CanopyError } from '../../../src/core/errors.js';

/** The settings of a section of a unit file, each key's last value (as systemd reads them). */
function service(file: string, from = '[Service]', to = '[Install]'): Map<string, string> {
  const text = readFileSync(`packaging/systemd/${file}`, 'utf8');
  const section = text.slice(text.indexOf(from), text.indexOf(to));
  return new Map([...section.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

describe('the systemd units restart a deposed root', () => {
  it('a root that lost its lease exits 1, which Restart=on-failure restarts', () => {
    const write = process.stderr.write;
    let shown = '';
    process.stderr.write = ((s: string) => ((shown += s), true)) as typeof process.stderr.write;
    let status: number;
    try {
      status = reportError(new CanopyError('ERR_NOT_LEADER', 'this root lost its leader lease (fence 1): the lease could not be renewed in time'), false);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(status, 1);
    assert.match(shown, /^canopy: error \[ERR_NOT_LEADER\]: this root lost its leader lease/);
    for (const unit of ['canopy-root.service', 'canopy-node@.service']) {
      const s = service(unit);
      // on-failure: a non-zero exit (and a kill by a signal) restarts; a clean stop (exit 0) does not.
      assert.equal(s.get('Restart'), 'on-failure', unit);
      // A pause first, so a root whose database is still away does not spin (it exits again at start, ERR_STATE_UNAVAILABLE).
      assert.match(s.get('RestartSec') ?? '', /^[1-9]\d*s$/, unit);
      for (const key of ['RestartPreventExitStatus', 'SuccessExitStatus']) assert.ok(!(s.get(key) ?? '').split(/\s+/).includes(String(status)), `${unit}: ${key} must not list ${status}`);
      assert.match(s.get('ExecStart') ?? '', /\/usr\/bin\/canopy node /, unit);
    }
    assert.match(service('canopy-root.service').get('ExecStart')!, / --root /);
    // The root is restarted however often it exits (a long database outage): no start limit.
    assert.equal(service('canopy-root.service', '[Unit]', '[Service]').get('StartLimitIntervalSec'), '0');
  });
});
