import { CanopyError } from './errors.js';

/** A node's attributes: `key=value` pairs; a bare flag such as `lab` is stored with value "". */
export type Attributes = Readonly<Record<string, string>>;

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const VALUE = /^[A-Za-z0-9_.:/-]{0,128}$/;

export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

export function isValidValue(value: string): boolean {
  return VALUE.test(value);
}

/** Parses `region=eu`, `lab` or lists such as `region=eu,tier=edge` / `region=eu tier=edge`. */
export function parseAttributes(items: string | readonly string[]): Attributes {
  const parts = (typeof items === 'string' ? [items] : items).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s.length > 0);
  const out: Record<string, string> = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!isValidKey(key) || !isValidValue(value)) {
      throw new CanopyError('ERR_ATTRIBUTE_SYNTAX', `invalid attribute "${part}": expected key=value (key: letters, digits, _ . -; value: letters, digits, _ . : / -)`);
    }
    if (key === 'node') throw new CanopyError('ERR_ATTRIBUTE_SYNTAX', 'attribute key "node" is reserved for the node id');
    out[key] = value;
  }
  return out;
}

export function formatAttributes(attrs: Attributes): string {
  return Object.entries(attrs)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(' ');
}
