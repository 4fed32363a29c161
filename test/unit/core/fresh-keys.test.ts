import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newEd25519PrivateKey, newP256PemPair } from '../../../src/core/fresh-keys.js';
import { publicKeyText } from '../../../src/core/manifest-signature.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : sources(full);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [full] : [];
  });
}

describe('fresh key pairs', () => {
  it('make keys that sign and verify, and export as JWK and PEM', () => {
    const key = newEd25519PrivateKey();
    const sig = sign(null, Buffer.from('canopy'), key);
    assert.ok(verify(null, Buffer.from('canopy'), createPublicKey(key), sig));
    assert.equal(Buffer.from(publicKeyText(key), 'base64url').length, 32);
    const pair = newP256PemPair();
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(createPublicKey(pair.privateKeyPem).export({ type: 'spki', format: 'pem' }), pair.publicKeyPem);
  });

  // The pattern that deadlocked Node 20 (fresh-keys.ts): new pairs exported at once, many times,
  // in a child with a deadline. A generator's KeyObject exported directly hung within 20,000
  // pairs in 2 runs of 3; a hang here is this test's failure (its timeout), not a slow test.
  it('are exported 30,000 times in a row without the process ever hanging', () => {
    const script = [
      `import { newEd25519PrivateKey } from ${JSON.stringify(path.join(repo, 'src/core/fresh-keys.ts'))};`,
      `import { publicKeyText } from ${JSON.stringify(path.join(repo, 'src/core/manifest-signature.ts'))};`,
      'for (let i = 0; i < 30000; i++) { const k = newEd25519PrivateKey(); k.export({ format: "jwk" }); publicKeyText(k); }',
      'console.log("done");',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    assert.equal(run.signal, null, `the child hung (killed after 120 s): ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /done/);
  });

  it('are the only way the project makes a key pair (a generator KeyObject can deadlock its export)', () => {
    const own = path.join(repo, 'src', 'core', 'fresh-keys.ts');
    const offenders = [...sources(path.join(repo, 'src')), ...sources(path.join(repo, 'test')), ...sources(path.join(repo, 'bench'))]
      .filter((f) => f !== own && f !== fileURLToPath(import.meta.url))
      .filter((f) => /\bgenerateKeyPair(Sync)?\s*\(\s*['"]/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => path.relative(repo, f)), []);
  });
});
