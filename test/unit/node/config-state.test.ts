import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { makeConfig } from '../../../src/node/config.js';
import { parseConfigText } from '../../../src/node/config-file.js';

const base = { dataDir: '/tmp/canopy-config-state' };

function refusal(input: Parameters<typeof makeConfig>[0]): string {
  try {
    makeConfig(input);
  } catch (err) {
    assert.ok(err instanceof CanopyError);
    return `${err.code} ${err.message}`;
  }
  return 'accepted';
}

describe('root state settings', () => {
  it('defaults to the embedded state and takes a PostgreSQL URL with its key file on a root', () => {
    assert.equal(makeConfig({ ...base, isRoot: true }).state, undefined);
    const c = makeConfig({ ...base, isRoot: true, state: 'postgres://canopy@db.example:5432/canopy', stateKeyFile: 'state.key' });
    assert.equal(c.state, 'postgres://canopy@db.example:5432/canopy');
    assert.ok(c.stateKeyFile!.endsWith('/state.key'));
    assert.deepEqual(parseConfigText('root: true\nstate: postgresql://u@h/db\nstateKeyFile: /etc/canopy/state.key\n').state, 'postgresql://u@h/db');
  });

  it('refuses a state on a member, a URL that is not PostgreSQL, or a missing key file, naming the key', () => {
    assert.match(refusal({ ...base, join: { host: 'h', port: 1 }, state: 'postgres://u@h/db', stateKeyFile: 'k' }), /^ERR_CONFIG_INVALID state: only the root/);
    assert.match(refusal({ ...base, isRoot: true, state: 'postgres://u@h/db' }), /^ERR_CONFIG_INVALID stateKeyFile:/);
    assert.match(refusal({ ...base, isRoot: true, stateKeyFile: 'k' }), /^ERR_CONFIG_INVALID stateKeyFile:/);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (url) => {
        fc.pre(!/^postgres(ql)?:\/\/\S+$/.test(url));
        assert.match(refusal({ ...base, isRoot: true, state: url, stateKeyFile: 'k' }), /^ERR_CONFIG_INVALID state:/);
      }),
    );
  });
});
