/**
 * SigV4 verification against the examples in AWS's documentation ("Examples: Signature
 * calculations in AWS Signature Version 4", examplebucket, 2013-05-24), and property tests
 * of the Authorization header and presigned query parsers: what a signer formats parses back
 * to the same parts, and arbitrary text yields an S3Error, never another exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { S3Error } from '../../../../src/edge/s3/s3-error.js';
import { amzDateMs, awsEncode, computeSignature, parseAuthorization, parsePresigned, parseQuery, verifyRequest, type SignatureParts, type SignedRequest } from '../../../../src/edge/s3/sigv4.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const WHEN = Date.UTC(2013, 4, 24, 0, 0, 30);
const secretOf = (id: string) => (id === KEY ? SECRET : undefined);
const HOST = 'examplebucket.s3.amazonaws.com';

function headerRequest(rawPath: string, rawQuery: string, extra: string[], signed: string, signature: string): SignedRequest {
  return {
    method: 'GET',
    rawPath,
    rawQuery,
    rawHeaders: ['Host', HOST, ...extra, 'x-amz-content-sha256', EMPTY, 'x-amz-date', '20130524T000000Z', 'Authorization', `AWS4-HMAC-SHA256 Credential=${KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${signature}`],
  };
}

describe('SigV4 against AWS documentation examples', () => {
  it('GET Object with a Range header', () => {
    const req = headerRequest('/test.txt', '', ['Range', 'bytes=0-9'], 'host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.equal(verifyRequest(req, secretOf, WHEN), KEY);
  });

  it('GET Bucket lifecycle (a sub-resource with no value)', () => {
    const req = headerRequest('/', 'lifecycle', [], 'host;x-amz-content-sha256;x-amz-date', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    assert.equal(verifyRequest(req, secretOf, WHEN), KEY);
  });

  it('GET Bucket (List Objects) with max-keys and prefix', () => {
    const req = headerRequest('/', 'max-keys=2&prefix=J', [], 'host;x-amz-content-sha256;x-amz-date', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
    assert.equal(verifyRequest(req, secretOf, WHEN), KEY);
  });

  it('a presigned URL, until it expires', () => {
    const rawQuery = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${KEY}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404`;
    const req: SignedRequest = { method: 'GET', rawPath: '/test.txt', rawQuery, rawHeaders: ['Host', HOST] };
    assert.equal(verifyRequest(req, secretOf, WHEN), KEY);
    assert.throws(() => verifyRequest(req, secretOf, WHEN + 86_400_000), (e: S3Error) => e.s3Code === 'AccessDenied' && /expired/.test(e.message));
  });

  it('refuses a changed header, a wrong secret, an unknown key, a skewed clock, a missing signed header', () => {
    const good = headerRequest('/test.txt', '', ['Range', 'bytes=0-9'], 'host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    const withRange = (r: string) => ({ ...good, rawHeaders: good.rawHeaders.map((v, i, a) => (a[i - 1] === 'Range' ? r : v)) });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as S3Error).s3Code;
      }
      return 'ok';
    };
    assert.equal(code(() => verifyRequest(withRange('bytes=0-10'), secretOf, WHEN)), 'SignatureDoesNotMatch');
    assert.equal(code(() => verifyRequest(good, () => `${SECRET}x`, WHEN)), 'SignatureDoesNotMatch');
    assert.equal(code(() => verifyRequest(good, () => undefined, WHEN)), 'InvalidAccessKeyId');
    assert.equal(code(() => verifyRequest(good, secretOf, WHEN + 16 * 60_000)), 'RequestTimeTooSkewed');
    const noRange = { ...good, rawHeaders: good.rawHeaders.slice(0, 2).concat(good.rawHeaders.slice(4)) };
    assert.equal(code(() => verifyRequest(noRange, secretOf, WHEN)), 'AccessDenied');
    assert.equal(code(() => verifyRequest({ ...good, rawHeaders: good.rawHeaders.filter((v, i, a) => v !== 'x-amz-content-sha256' && a[i - 1] !== 'x-amz-content-sha256') }, secretOf, WHEN)), 'InvalidRequest');
    assert.equal(verifyRequest({ method: 'GET', rawPath: '/x', rawQuery: '', rawHeaders: ['Host', HOST] }, secretOf, WHEN), undefined, 'anonymous');
  });
});

const token = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const partsArb = fc.record({
  accessKeyId: fc.stringMatching(/^[A-Z0-9]{4,24}$/),
  region: token,
  time: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }),
  extra: fc.uniqueArray(fc.stringMatching(/^x-amz-[a-z]{1,8}$/), { maxLength: 4 }),
  signature: fc.stringMatching(/^[0-9a-f]{64}$/),
  expires: fc.integer({ min: 1, max: 604_800 }),
});

function amz(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

describe('SigV4 parsers (property tests)', () => {
  it('an Authorization header a signer formats parses back to its parts', () => {
    fc.assert(
      fc.property(partsArb, fc.constantFrom(',', ', '), (p, sep) => {
        const date = amz(p.time);
        const signed = ['host', ...p.extra].sort();
        const header = `AWS4-HMAC-SHA256 Credential=${p.accessKeyId}/${date.slice(0, 8)}/${p.region}/s3/aws4_request${sep}SignedHeaders=${signed.join(';')}${sep}Signature=${p.signature}`;
        const parsed = parseAuthorization(header, date);
        assert.deepEqual(parsed, { credential: { accessKeyId: p.accessKeyId, date: date.slice(0, 8), region: p.region, service: 's3' }, signedHeaders: signed, signature: p.signature, amzDate: date, presigned: false } satisfies SignatureParts);
        assert.equal(amzDateMs(date), Math.floor(p.time / 1000) * 1000);
      }),
    );
  });

  it('presigned query parameters parse back to their parts, in any order and encoding case', () => {
    fc.assert(
      fc.property(partsArb, fc.boolean(), (p, lower) => {
        const date = amz(p.time);
        const cred = `${p.accessKeyId}/${date.slice(0, 8)}/${p.region}/s3/aws4_request`;
        const pairs = [['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'], ['X-Amz-Credential', cred], ['X-Amz-Date', date], ['X-Amz-Expires', String(p.expires)], ['X-Amz-SignedHeaders', 'host'], ['X-Amz-Signature', p.signature]];
        const raw = pairs.map(([k, v]) => `${k}=${lower ? awsEncode(v!, false).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) : awsEncode(v!, false)}`).reverse().join('&');
        const parsed = parsePresigned(new Map(parseQuery(raw)));
        assert.equal(parsed.credential.accessKeyId, p.accessKeyId);
        assert.equal(parsed.expires, p.expires);
        assert.equal(parsed.amzDate, date);
        assert.equal(parsed.presigned, true);
      }),
    );
  });

  it('arbitrary Authorization headers, dates and queries give S3 errors, never other exceptions', () => {
    const fragments = fc.constantFrom('AWS4-HMAC-SHA256 ', 'Credential=', 'SignedHeaders=', 'Signature=', '/', ',', ';', 'aws4_request', 's3', 'host', '=', ' ', '20130524', 'T000000Z', '%', '%zz', '&');
    const text = fc.array(fc.oneof(fragments, fc.string({ maxLength: 8 })), { maxLength: 20 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.option(text), text, (header, date, query) => {
        for (const fn of [() => parseAuthorization(header, date ?? undefined), () => parsePresigned(new Map(parseQuery(query))), () => verifyRequest({ method: 'GET', rawPath: '/', rawQuery: query, rawHeaders: ['Host', 'h', 'Authorization', header, ...(date ? ['x-amz-date', date] : [])] }, () => 's')]) {
          try {
            fn();
          } catch (e) {
            assert.ok(e instanceof S3Error, `not an S3Error: ${String(e)}`);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a request it signs verifies, and changing any byte of the query or path does not', () => {
    fc.assert(
      fc.property(partsArb, fc.string({ maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (p, key, prefix) => {
        const date = amz(p.time);
        const rawPath = `/bucket/${awsEncode(key, true)}`;
        const rawQuery = `list-type=2&prefix=${awsEncode(prefix, false)}`;
        const parts: SignatureParts = { credential: { accessKeyId: p.accessKeyId, date: date.slice(0, 8), region: p.region, service: 's3' }, signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'], signature: '', amzDate: date, presigned: false };
        const base: SignedRequest = { method: 'GET', rawPath, rawQuery, rawHeaders: ['Host', 'node:7404', 'X-Amz-Content-Sha256', EMPTY, 'X-Amz-Date', date] };
        const signature = computeSignature(base, parts, 'secret');
        const req = { ...base, rawHeaders: [...base.rawHeaders, 'Authorization', `AWS4-HMAC-SHA256 Credential=${p.accessKeyId}/${date.slice(0, 8)}/${p.region}/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`] };
        assert.equal(verifyRequest(req, () => 'secret', p.time), p.accessKeyId);
        assert.throws(() => verifyRequest({ ...req, rawQuery: `${rawQuery}x` }, () => 'secret', p.time), (e: S3Error) => e.s3Code === 'SignatureDoesNotMatch');
        assert.throws(() => verifyRequest({ ...req, rawPath: `${rawPath}x` }, () => 'secret', p.time), (e: S3Error) => e.s3Code === 'SignatureDoesNotMatch');
      }),
      { numRuns: 200 },
    );
  });
});
