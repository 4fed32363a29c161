/** One upstream fetch shared by readers: bytes served while they arrive, the last byte only once the digest matches. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { BlobRelay } from '../../../src/registry/blob-relay.js';
import { gatedBody } from '../../helpers/gated-body.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function readAll(relay: BlobRelay, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; ; ) {
    const r = await relay.read(off, max);
    parts.push(r.bytes);
    off += r.bytes.length;
    if (r.done) return Buffer.concat(parts);
  }
}

test('readers get bytes as they arrive, the last byte only after the digest matched; one fetch for all', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-relay-'));
  try {
    const blob = randomBytes(300_000);
    const { stream, step } = gatedBody([blob.subarray(0, 100_000), blob.subarray(100_000)], blob.length);
    let opens = 0;
    const relay = new BlobRelay(path.join(dir, 'spool'), digestOf(blob), 'test', async () => (opens++, stream));
    step();
    const first = await relay.read(0, 1 << 20);
    assert.deepEqual(first.bytes, blob.subarray(0, 99_999), 'the first chunk, less the byte held back');
    assert.equal(first.done, false);
    const readers = [readAll(relay, 64 * 1024), readAll(relay, 1 << 20)];
    step();
    for (const got of await Promise.all(readers)) assert.deepEqual(got, blob);
    await relay.finished;
    assert.equal(opens, 1);
    await relay.dispose();
    assert.equal(existsSync(path.join(dir, 'spool')), false, 'the spool is deleted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wrong bytes, too many or too few: every reader gets the error, nothing is kept', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-relay-'));
  try {
    const blob = randomBytes(50_000);
    const wrong = Buffer.from(blob);
    wrong[10] = wrong[10]! ^ 1;
    for (const [name, chunks, length] of [['flipped', [wrong], blob.length], ['longer', [blob, Buffer.from('x')], blob.length], ['shorter', [blob.subarray(1)], blob.length]] as const) {
      const { stream, step } = gatedBody([...chunks], length);
      const file = path.join(dir, name);
      const relay = new BlobRelay(file, digestOf(blob), 'test', async () => stream);
      const reading = readAll(relay, 1 << 20);
      for (const _ of chunks) step();
      await assert.rejects(reading, (err) => isCanopyError(err, 'ERR_OCI_DIGEST_MISMATCH'), name);
      await assert.rejects(relay.finished);
      assert.equal(existsSync(file), false, `${name}: no spool left`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
