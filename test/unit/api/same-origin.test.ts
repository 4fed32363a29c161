import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { it } from 'node:test';
import fc from 'fast-check';
import { checkCookieWrite } from '../../../src/api/same-origin.js';
import type { Route } from '../../../src/api/router.js';
import { isCanopyError } from '../../../src/core/errors.js';

const route = (path: string) => ({ path, method: 'POST', summary: '', handler: () => undefined }) as Route;
const req = (method: string, headers: Record<string, string>) => ({ method, headers: { host: '127.0.0.1:7401', ...headers } }) as unknown as IncomingMessage;
const refused = (fn: () => void) => assert.throws(fn, (e) => isCanopyError(e, 'ERR_CROSS_ORIGIN'));

it('cookie-authenticated writes need this origin and application/json (issue 16)', () => {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  checkCookieWrite(req('POST', { origin: 'http://127.0.0.1:7401', ...json }), route('/api/publishers'));
  checkCookieWrite(req('GET', {}), route('/api/publishers'));
  refused(() => checkCookieWrite(req('POST', { origin: 'http://127.0.0.1:7402', ...json }), route('/api/publishers')));
  refused(() => checkCookieWrite(req('POST', json), route('/api/publishers')));
  refused(() => checkCookieWrite(req('POST', { origin: 'http://127.0.0.1:7401', 'content-type': 'text/plain' }), route('/api/nodes/:ref/attributes')));
  refused(() => checkCookieWrite(req('POST', { origin: 'http://127.0.0.1:7401', 'sec-fetch-site': 'same-site', ...json }), route('/api/publishers')));
  // tus needs Tus-Resumable, which forces a preflight: its bodies are not JSON.
  checkCookieWrite(req('PATCH', { origin: 'http://127.0.0.1:7401', 'content-type': 'application/offset+octet-stream' }), route('/api/uploads/*'));
});

it('no other Origin passes, whatever its spelling', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (origin) => {
      fc.pre(origin !== 'http://127.0.0.1:7401' && origin !== 'https://127.0.0.1:7401');
      refused(() => checkCookieWrite(req('DELETE', { origin, 'content-type': 'application/json' }), route('/api/x')));
    }),
  );
});
