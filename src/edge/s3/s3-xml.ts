/** The XML documents the S3 read API answers with (namespace of the 2006-03-01 API). Pure. */
import type { ListPage } from './list-objects.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function xmlEscape(text: string): string {
  // Characters XML 1.0 cannot carry at all are replaced: keys come from publishers' names.
  // eslint-disable-next-line no-control-regex -- matching the control characters XML forbids is the point
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]!};`).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD');
}

const el = (name: string, value: string | number | boolean) => `<${name}>${xmlEscape(String(value))}</${name}>`;

export function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return `${HEAD}<Error>${el('Code', code)}${el('Message', message)}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}

export interface BucketEntry {
  name: string;
  createdAt: string;
}

const OWNER = '<Owner><ID>canopy</ID><DisplayName>canopy</DisplayName></Owner>';

export function listBucketsXml(buckets: readonly BucketEntry[]): string {
  const items = buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', b.createdAt)}</Bucket>`).join('');
  return `${HEAD}<ListAllMyBucketsResult xmlns="${NS}">${OWNER}<Buckets>${items}</Buckets></ListAllMyBucketsResult>`;
}

export function locationXml(): string {
  return `${HEAD}<LocationConstraint xmlns="${NS}"></LocationConstraint>`;
}

/** ListObjectsV2 (`v2`) or the original ListObjects; keys are URL-encoded when the client asked (`encoding-type=url`). */
export function listObjectsXml(bucket: string, page: ListPage, v2: boolean): string {
  const q = page.query;
  const enc = (s: string) => (q.encodeUrl ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const parts = [el('Name', bucket), el('Prefix', enc(q.prefix))];
  if (v2) {
    if (q.startAfter !== '') parts.push(el('StartAfter', enc(q.startAfter)));
    if (q.token !== undefined) parts.push(el('ContinuationToken', q.token));
    parts.push(el('KeyCount', page.objects.length + page.prefixes.length));
  } else parts.push(el('Marker', enc(q.startAfter)));
  parts.push(el('MaxKeys', q.maxKeys));
  if (q.delimiter !== '') parts.push(el('Delimiter', enc(q.delimiter)));
  if (q.encodeUrl) parts.push(el('EncodingType', 'url'));
  parts.push(el('IsTruncated', page.truncated));
  if (page.next !== undefined) parts.push(v2 ? el('NextContinuationToken', page.next.token) : q.delimiter !== '' ? el('NextMarker', enc(page.next.after)) : '');
  for (const o of page.objects) {
    parts.push(`<Contents>${el('Key', enc(o.key))}${el('LastModified', o.lastModified)}${el('ETag', o.etag)}${el('Size', o.size)}${el('StorageClass', 'STANDARD')}</Contents>`);
  }
  for (const p of page.prefixes) parts.push(`<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`);
  return `${HEAD}<ListBucketResult xmlns="${NS}">${parts.join('')}</ListBucketResult>`;
}
