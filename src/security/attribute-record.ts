/**
 * The attested attributes of a node: `{nodeId, attrs, serial, issuedAt}` signed by the root.
 * A node presents its record in `hello`; the holder checks the signature, that the record
 * names the node of the TLS certificate, and keeps the highest serial it has seen for each
 * node, so an old, more favourable record cannot be replayed once a newer one is known.
 */
import type { Attributes } from '../core/attributes.js';
import { isValidKey, isValidValue } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { signStatement, verifyStatement, type Signed } from './signed-record.js';
import type { KeyObject } from 'node:crypto';
import { NODE_ID } from './x509.js';

export const ATTRIBUTE_RECORD_FORMAT = 'canopy-attributes';

export interface AttributeRecordBody extends Record<string, unknown> {
  format: typeof ATTRIBUTE_RECORD_FORMAT;
  nodeId: string;
  attrs: Attributes;
  serial: number;
  issuedAt: string;
}
export type AttributeRecord = Signed<AttributeRecordBody>;

export function signAttributeRecord(nodeId: string, attrs: Attributes, serial: number, caKeyPem: string): AttributeRecord {
  return signStatement<AttributeRecordBody>({ format: ATTRIBUTE_RECORD_FORMAT, nodeId, attrs: { ...attrs }, serial, issuedAt: new Date().toISOString() }, caKeyPem);
}

/** Verifies a record received from anyone; throws ERR_NOT_AUTHORISED if it is forged or malformed. */
export function verifyAttributeRecord(value: unknown, caPublicKey: KeyObject): AttributeRecord {
  const body = verifyStatement(value, caPublicKey, 'attribute record');
  const bad = (why: string): never => {
    throw new CanopyError('ERR_NOT_AUTHORISED', `attribute record: ${why}`);
  };
  if (body.format !== ATTRIBUTE_RECORD_FORMAT) bad('wrong format');
  if (typeof body.nodeId !== 'string' || !NODE_ID.test(body.nodeId)) bad('bad node id');
  if (typeof body.serial !== 'number' || !Number.isSafeInteger(body.serial) || body.serial < 0) bad('bad serial');
  if (typeof body.issuedAt !== 'string') bad('bad issuedAt');
  const attrs = body.attrs;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) bad('attrs is not an object');
  const entries = Object.entries(attrs as Record<string, unknown>);
  if (entries.length > 256) bad('too many attributes');
  for (const [k, v] of entries) if (!isValidKey(k) || typeof v !== 'string' || !isValidValue(v)) bad(`invalid attribute ${k.slice(0, 64)}`);
  return value as AttributeRecord;
}
