/**
 * A withdrawal as the root signs it with the cluster CA key: `{contentId, at, reason, sig}`.
 * Withdrawals travel by flooding over the control tree, where the origin of a flood is only
 * what the flooder says; the signature is what makes a node obey one. The signed body carries
 * `format: "canopy-withdrawal"` so no other root statement can be passed off as one.
 */
import type { KeyObject } from 'node:crypto';
import { CanopyError } from '../core/errors.js';
import { isHashHex } from '../core/hash.js';
import { signStatement, verifyStatement } from './signed-record.js';

export interface Withdrawal {
  contentId: string;
  /** ISO time the content went out of service. */
  at: string;
  reason: string;
}

export interface SignedWithdrawal extends Withdrawal {
  sig: string;
}

const FORMAT = 'canopy-withdrawal';
const MAX_REASON = 200;

export function signWithdrawal(w: Withdrawal, caKeyPem: string): SignedWithdrawal {
  const { sig } = signStatement({ format: FORMAT, contentId: w.contentId, at: w.at, reason: w.reason }, caKeyPem);
  return { contentId: w.contentId, at: w.at, reason: w.reason, sig };
}

/** Checks a withdrawal against the CA; returns it without the signature, or throws ERR_NOT_AUTHORISED. */
export function verifyWithdrawal(value: unknown, caPublicKey: KeyObject): Withdrawal {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_NOT_AUTHORISED', 'withdrawal: not a signed statement');
  const { contentId, at, reason, sig } = value as Record<string, unknown>;
  if (typeof contentId !== 'string' || !isHashHex(contentId)) throw new CanopyError('ERR_NOT_AUTHORISED', 'withdrawal: contentId must be a content id');
  if (typeof at !== 'string' || at.length > 64 || Number.isNaN(Date.parse(at))) throw new CanopyError('ERR_NOT_AUTHORISED', 'withdrawal: at must be an ISO time');
  if (typeof reason !== 'string' || reason.length > MAX_REASON) throw new CanopyError('ERR_NOT_AUTHORISED', `withdrawal: reason must be text of at most ${MAX_REASON} characters`);
  verifyStatement({ format: FORMAT, contentId, at, reason, sig }, caPublicKey, 'withdrawal');
  return { contentId, at, reason };
}
