import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LineSplitter, MAX_LINE, parseCommand, parseRestOffset } from '../../../../src/edge/ftp/command.js';
import { FtpTree, normalisePath } from '../../../../src/edge/ftp/ftp-tree.js';
import type { Manifest } from '../../../../src/core/manifest.js';

describe('FTP command parsing', () => {
  it('parses verbs case-insensitively and keeps arguments verbatim', () => {
    assert.deepEqual(parseCommand('retr My File.iso\r'), { ok: true, verb: 'RETR', arg: 'My File.iso' });
    assert.deepEqual(parseCommand('PWD'), { ok: true, verb: 'PWD', arg: '' });
    assert.deepEqual(parseCommand('PASS  two  spaces '), { ok: true, verb: 'PASS', arg: ' two  spaces ' });
    assert.equal(parseCommand('RE TR x').ok, false);
    assert.equal(parseCommand('NOOPS').ok, false);
    assert.equal(parseCommand('RETR a\0b').ok, false);
    assert.equal(parseCommand('x'.repeat(MAX_LINE + 1)).ok, false);
  });

  it('never throws and only yields 3-4 letter upper-case verbs without control characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (line) => {
        const r = parseCommand(line);
        if (r.ok) {
          assert.match(r.verb, /^[A-Z]{3,4}$/);
          assert.ok(!/[\0\r\n]/.test(r.arg));
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('splits a stream into the same lines however it is chunked, and flags overflow', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('A', 'b', ' ', '\r', '\n'), maxLength: 30 }), { maxLength: 10 }), fc.array(fc.nat({ max: 40 }), { maxLength: 8 }), (pieces, cuts) => {
        const text = pieces.join('');
        const whole = new LineSplitter().push(text).lines;
        const s = new LineSplitter();
        const chunked: string[] = [];
        let at = 0;
        for (const c of [...cuts, text.length]) {
          chunked.push(...s.push(text.slice(at, Math.max(at, c))).lines);
          at = Math.max(at, c);
        }
        chunked.push(...s.push(text.slice(at)).lines);
        assert.deepEqual(chunked, whole);
      }),
    );
    assert.equal(new LineSplitter().push('x'.repeat(MAX_LINE + 1)).overflow, true);
  });

  it('reads REST offsets strictly', () => {
    assert.equal(parseRestOffset('0'), 0);
    assert.equal(parseRestOffset('123456789'), 123456789);
    for (const bad of ['', '-1', '1e3', ' 5', '99999999999999999']) assert.equal(parseRestOffset(bad), undefined, bad);
  });
});

describe('FTP tree', () => {
  const manifest = (name: string, createdAt: string) => ({ name, size: 10, createdAt }) as unknown as Manifest;
  const id = (c: string) => c.repeat(64);
  const tree = new FtpTree(() => [
    { contentId: id('a'), manifest: manifest('film.mp4', '2026-01-01T00:00:00Z') },
    { contentId: id('b'), manifest: manifest('film.mp4', '2026-02-01T00:00:00Z') },
    { contentId: id('c'), manifest: manifest('disk.img', '2026-01-01T00:00:00Z') },
  ]);

  it('shows the newest of each name at the top and every content by id', () => {
    assert.deepEqual(tree.list('/')!.map((i) => i.name), ['by-id', 'disk.img', 'film.mp4']);
    const top = tree.resolve('/film.mp4');
    assert.equal(top?.kind === 'file' && top.content.contentId, id('b'));
    assert.equal(tree.resolve(`/by-id/${id('a')}/film.mp4`)?.kind, 'file');
    assert.equal(tree.resolve(`/by-id/${id('a')}/disk.img`), undefined);
    assert.equal(tree.resolve(`/by-id/${id('a')}`)?.kind, 'dir');
    assert.equal(tree.list('/by-id')!.length, 3);
  });

  it('normalises any path to an absolute one inside the tree', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('/', '.', '..', 'a', 'by-id', '\\', '%2e'), maxLength: 20 }), fc.string({ unit: fc.constantFrom('/', '.', 'x'), maxLength: 10 }), (arg, cwdText) => {
        const cwd = normalisePath('/', cwdText);
        const p = normalisePath(cwd, arg);
        assert.ok(p.startsWith('/'));
        assert.ok(!p.split('/').some((part) => part === '..' || part === '.'), p);
        assert.ok(!p.includes('//'), p);
        tree.resolve(p);
      }),
      { numRuns: 3000 },
    );
    assert.equal(normalisePath('/by-id', '../../../etc/passwd'), '/etc/passwd');
    assert.equal(tree.resolve('/etc/passwd'), undefined);
  });
});
