/**
 * Tree messages on the wire: plain JSON, bitmaps as hex (see bitmap.ts). Decoding checks
 * every field and throws ERR_WIRE_PROTOCOL naming the first bad one, so the core only ever
 * sees well-formed messages. Flood and route payloads are checked by their consumer.
 */
import { isValidKey, isValidValue, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { MAX_CRITERIA_LENGTH } from '../core/criteria.js';
import { decodeBitmap, encodeBitmap } from './bitmap.js';
import type { Rollup } from './rollup.js';
import type { NodeRef, TreeMessage } from './tree-messages.js';

const MAX_LIST = 4096;

function fail(path: string, what: string): never {
  throw new CanopyError('ERR_WIRE_PROTOCOL', `tree message field ${path}: ${what}`);
}

function obj(v: unknown, p: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'expected an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, p: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(p, `expected a string of 1..${max} characters`);
  return v;
}

function count(v: unknown, p: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(p, 'expected a non-negative integer');
  return v;
}

function bool(v: unknown, p: string): boolean {
  if (typeof v !== 'boolean') fail(p, 'expected true or false');
  return v;
}

function list<T>(v: unknown, p: string, item: (x: unknown, p: string) => T): T[] {
  if (!Array.isArray(v) || v.length > MAX_LIST) fail(p, `expected a list of at most ${MAX_LIST}`);
  return v.map((x, i) => item(x, `${p}[${i}]`));
}

function ref(v: unknown, p: string): NodeRef {
  const o = obj(v, p);
  return { id: str(o.id, `${p}.id`, 128), addr: str(o.addr, `${p}.addr`, 300) };
}

function attrs(v: unknown, p: string): Attributes {
  const o = obj(v, p);
  const entries = Object.entries(o);
  if (entries.length > 256) fail(p, 'too many attributes');
  for (const [k, val] of entries) if (!isValidKey(k) || typeof val !== 'string' || !isValidValue(val)) fail(`${p}.${k}`, 'invalid attribute');
  return { ...(o as Record<string, string>) };
}

function rollup(v: unknown, p: string): Rollup {
  const o = obj(v, p);
  return { or: decodeBitmap(o.or), and: decodeBitmap(o.and), count: count(o.count, `${p}.count`), ids: decodeBitmap(o.ids) };
}

const entry = (x: unknown, p: string) => str(x, p, 200);

export function encodeTreeMessage(m: TreeMessage): Record<string, unknown> {
  if (m.k === 'adopt' || m.k === 'up') {
    const r = m.rollup;
    return { ...m, rollup: { or: encodeBitmap(r.or), and: encodeBitmap(r.and), count: r.count, ids: encodeBitmap(r.ids) } };
  }
  return { ...m };
}

export function decodeTreeMessage(v: unknown): TreeMessage {
  const o = obj(v, 'm');
  switch (o.k) {
    case 'join':
      return { k: 'join', self: ref(o.self, 'self'), attrs: attrs(o.attrs, 'attrs') };
    case 'info': {
      const m: TreeMessage = { k: 'info', children: list(o.children, 'children', ref), room: bool(o.room, 'room') };
      if (o.dict !== undefined) m.dict = list(o.dict, 'dict', entry);
      return m;
    }
    case 'walk':
      return { k: 'walk', self: ref(o.self, 'self') };
    case 'adopt':
      return { k: 'adopt', self: ref(o.self, 'self'), rollup: rollup(o.rollup, 'rollup'), seen: list(o.seen, 'seen', (x, p) => str(x, p, 128)) };
    case 'adopted':
      return { k: 'adopted', path: list(o.path, 'path', ref), seen: list(o.seen, 'seen', (x, p) => str(x, p, 128)) };
    case 'refused':
      return { k: 'refused', children: list(o.children, 'children', ref), cycle: bool(o.cycle, 'cycle') };
    case 'down':
      return { k: 'down', path: list(o.path, 'path', ref), dictBase: count(o.dictBase, 'dictBase'), dict: list(o.dict, 'dict', entry) };
    case 'up':
      return { k: 'up', rollup: rollup(o.rollup, 'rollup'), dictVersion: count(o.dictVersion, 'dictVersion') };
    case 'leave':
      return { k: 'leave' };
    case 'dict-add':
      return { k: 'dict-add', attrs: attrs(o.attrs, 'attrs') };
    case 'flood':
      return { k: 'flood', id: str(o.id, 'id', 128), origin: str(o.origin, 'origin', 128), payload: obj(o.payload, 'payload') };
    case 'ack':
      return { k: 'ack', id: str(o.id, 'id', 128) };
    case 'route':
      return { k: 'route', id: str(o.id, 'id', 128), origin: str(o.origin, 'origin', 128), criteria: str(o.criteria, 'criteria', MAX_CRITERIA_LENGTH), payload: obj(o.payload, 'payload') };
    case 'count':
      return { k: 'count', qid: str(o.qid, 'qid', 128), criteria: str(o.criteria, 'criteria', MAX_CRITERIA_LENGTH) };
    case 'counted':
      return { k: 'counted', qid: str(o.qid, 'qid', 128), n: count(o.n, 'n'), partial: bool(o.partial, 'partial') };
    default:
      return fail('k', `unknown tree message ${JSON.stringify(o.k)?.slice(0, 40)}`);
  }
}
