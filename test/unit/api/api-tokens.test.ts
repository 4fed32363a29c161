/** API bearer tokens: scopes, constant-time check of the secret, the admin token file. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiTokens, authorise, grants, parseScopes, s3Credentials, type StoredToken } from '../../../src/api/api-tokens.js';
import { isCanopyError } from '../../../src/core/errors.js';

describe('API tokens', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-apitok6-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('grant by scope: admin covers all, publish covers read, read covers only read', () => {
    assert.ok(grants(['admin'], 'publish') && grants(['admin'], 'read') && grants(['admin'], 'admin'));
    assert.ok(grants(['publish'], 'read') && grants(['publish'], 'publish') && !grants(['publish'], 'admin'));
    assert.ok(grants(['read'], 'read') && !grants(['read'], 'publish') && !grants(['read'], 'admin'));
  });

  it('gives each token an S3 key pair its holder computes offline and the node keeps (reloaded from disk)', () => {
    const tokens = new ApiTokens(dir);
    const t = tokens.create(['read'], 's3');
    const s3 = s3Credentials(t)!;
    assert.match(s3.accessKeyId, /^CANOPY[0-9A-F]{16}$/);
    assert.match(s3.secretAccessKey, /^[0-9a-f]{40}$/);
    assert.deepEqual(new ApiTokens(dir).s3Key(s3.accessKeyId), { secret: s3.secretAccessKey, read: true });
    assert.equal(tokens.s3Key('CANOPY0000000000000000'), undefined);
    assert.equal(tokens.s3Key(s3.accessKeyId.toLowerCase()), undefined);
    assert.equal(s3Credentials('not a token'), undefined);
    assert.doesNotMatch(JSON.stringify(tokens.list()), new RegExp(s3.secretAccessKey), 'listing never shows the S3 secret');
  });

  it('verifies tokens it created, refuses altered ones, and answers coded errors', () => {
    const tokens = new ApiTokens(dir);
    const t = tokens.create(['read'], 'test');
    assert.deepEqual(tokens.verify(t), ['read']);
    const altered = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    assert.equal(tokens.verify(altered), undefined);
    assert.throws(() => authorise(tokens, undefined, 'read'), (e) => isCanopyError(e, 'ERR_AUTH_REQUIRED'));
    assert.throws(() => authorise(tokens, `Bearer ${t}`, 'publish'), (e) => isCanopyError(e, 'ERR_SCOPE'));
    assert.doesNotThrow(() => authorise(tokens, `Bearer ${t}`, 'read'));
    fc.assert(fc.property(fc.string(), (s) => tokens.verify(s) === undefined));
  });

  it('writes the admin token file with mode 0600 and keeps it across restarts', () => {
    const file = path.join(dir, 'api-token');
    new ApiTokens(dir).ensureAdminToken(file);
    const token = readFileSync(file, 'utf8').trim();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = new ApiTokens(dir);
    again.ensureAdminToken(file);
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    assert.deepEqual(again.verify(token), ['admin']);
  });

  it('keeps its list in any store (a root on PostgreSQL: the database), where another instance finds it', () => {
    let doc: { tokens: StoredToken[] } | undefined;
    const store = { load: () => doc && (JSON.parse(JSON.stringify(doc)) as typeof doc), save: (d: { tokens: StoredToken[] }) => void (doc = JSON.parse(JSON.stringify(d)) as typeof doc) };
    const t = new ApiTokens(store).create(['publish'], 'ci');
    assert.deepEqual(new ApiTokens(store).verify(t), ['publish'], 'a second root reads the token the first made');
    assert.ok(doc!.tokens.every((x) => !JSON.stringify(x).includes(t.split('.')[2]!)), 'the secret itself is not stored');
  });

  it('parses scope lists', () => {
    assert.deepEqual(parseScopes('read,publish'), ['read', 'publish']);
    assert.throws(() => parseScopes('root'), (e) => isCanopyError(e, 'ERR_USAGE'));
    assert.throws(() => parseScopes(''), (e) => isCanopyError(e, 'ERR_USAGE'));
  });
});
