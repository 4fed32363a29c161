/** docs/ERRORS.md lists every S3 error code the read API answers, with its status. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { S3_CODES } from '../../../../src/edge/s3/s3-error.js';

it('docs/ERRORS.md documents exactly the S3 codes in src/edge/s3/s3-error.ts, with their statuses', () => {
  const doc = readFileSync(new URL('../../../../docs/ERRORS.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('## S3 error codes'));
  const documented = new Map<string, number>();
  for (const row of table.matchAll(/^\| ((?:`[A-Za-z]+`(?:, )?)+) \| (\d{3}) \|/gm)) for (const code of row[1]!.matchAll(/`([A-Za-z]+)`/g)) documented.set(code[1]!, Number(row[2]));
  assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries(Object.entries(S3_CODES).sort()));
});
