import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { KNOWN_ROOTS_FILE, mergeRoots, parseRootList, readKnownRoots, saveKnownRoots } from '../../../src/node/known-roots.js';
import { makeConfig } from '../../../src/node/config.js';
import { formatAddress } from '../../../src/wire/transport.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-roots-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const addr = fc.tuple(fc.constantFrom('10.0.0.1', 'root-a.example', '127.0.0.1', '::1'), fc.integer({ min: 1, max: 65535 })).map(([host, port]) => ({ host, port }));

describe('known roots (a member keeps the root addresses it learned)', () => {
  it('parses only host:port strings from anything, deduplicated, at most 16', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const list = parseRootList(v);
        assert.ok(list.length <= 16);
        assert.equal(new Set(list.map(formatAddress)).size, list.length);
        for (const a of list) assert.ok(typeof a.host === 'string' && Number.isInteger(a.port) && a.port > 0);
      }),
    );
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 20 }), (as) => {
        const list = parseRootList(as.map(formatAddress));
        assert.deepEqual(list.map(formatAddress), [...new Set(as.map(formatAddress))].slice(0, 16));
      }),
    );
  });

  it('merges known first, then the new ones', () => {
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 8 }), fc.array(addr, { maxLength: 8 }), (known, learned) => {
        const merged = mergeRoots(known, learned).map(formatAddress);
        const k = [...new Set(known.map(formatAddress))];
        assert.deepEqual(merged.slice(0, k.length), k);
        for (const a of learned) assert.ok(merged.includes(formatAddress(a)));
      }),
    );
  });

  it('saves atomically, writes only on change, reads back; a node with neither --join nor a token joins from it', () => {
    const data = path.join(dir, 'm1');
    assert.deepEqual(readKnownRoots(data), []);
    assert.throws(() => makeConfig({ dataDir: data }), /ERR_CONFIG_INVALID|roots\.json/);
    saveKnownRoots(data, [{ host: '10.0.0.1', port: 7400 }, { host: '10.0.0.2', port: 7400 }]);
    const file = path.join(data, KNOWN_ROOTS_FILE);
    const first = statSync(file).mtimeMs;
    saveKnownRoots(data, [{ host: '10.0.0.1', port: 7400 }, { host: '10.0.0.2', port: 7400 }]);
    assert.equal(statSync(file).mtimeMs, first, 'unchanged list: not rewritten');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { roots: ['10.0.0.1:7400', '10.0.0.2:7400'] });
    const config = makeConfig({ dataDir: data });
    assert.deepEqual(config.roots.map(formatAddress), ['10.0.0.1:7400', '10.0.0.2:7400']);
    assert.equal(formatAddress(config.join!), '10.0.0.1:7400');
    // --join wins over the saved list.
    assert.deepEqual(makeConfig({ dataDir: data, join: { host: '10.0.0.9', port: 1 } }).roots.map(formatAddress), ['10.0.0.9:1']);
    // A damaged file is no list (the node then asks for --join), never a crash.
    writeFileSync(file, '{"roots": [');
    assert.deepEqual(readKnownRoots(data), []);
  });
});
