/**
 * Which blocks of a content a node holds, one bit per block, most significant bit first
 * (block 0 is the top bit of byte 0). On the wire it travels as a frame payload; bits past
 * the last block must be zero, so one content has exactly one encoding.
 */
import { CanopyError } from '../core/errors.js';

export class Bitfield {
  private readonly bits: Uint8Array;
  private ones = 0;

  constructor(readonly size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }

  static fromBytes(size: number, bytes: Uint8Array): Bitfield {
    const b = new Bitfield(size);
    if (bytes.length !== b.bits.length) throw new CanopyError('ERR_WIRE_PROTOCOL', `bitfield of ${bytes.length} bytes does not fit ${size} blocks`);
    const spare = b.bits.length * 8 - size;
    if (spare > 0 && (bytes[bytes.length - 1]! & ((1 << spare) - 1)) !== 0) throw new CanopyError('ERR_WIRE_PROTOCOL', 'bitfield has bits set past the last block');
    b.bits.set(bytes);
    for (const byte of b.bits) b.ones += popcount(byte);
    return b;
  }

  static full(size: number): Bitfield {
    const b = new Bitfield(size);
    for (let i = 0; i < size; i++) b.set(i);
    return b;
  }

  has(index: number): boolean {
    return index >= 0 && index < this.size && (this.bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets a bit; returns false if it was already set. */
  set(index: number): boolean {
    if (index < 0 || index >= this.size) throw new CanopyError('ERR_WIRE_PROTOCOL', `block ${index} is outside 0..${this.size - 1}`);
    if (this.has(index)) return false;
    this.bits[index >> 3]! |= 0x80 >> (index & 7);
    this.ones++;
    return true;
  }

  /** Clears a bit (a relay lost a block it was still receiving); returns false if it was not set. */
  unset(index: number): boolean {
    if (!this.has(index)) return false;
    this.bits[index >> 3]! &= ~(0x80 >> (index & 7));
    this.ones--;
    return true;
  }

  get count(): number {
    return this.ones;
  }

  get complete(): boolean {
    return this.ones === this.size;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.bits);
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}
