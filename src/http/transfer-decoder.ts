/**
 * An HTTP/1.1 request body's framing (RFC 9112 section 6 and 7.1), decoded from raw socket
 * bytes pushed in as they arrive: a Content-Length body, or a chunked one (chunk sizes in hex,
 * extensions and trailers skipped within limits). For a request whose socket the server took
 * after the headers (taken-body.ts); node:http's own parser hands every piece of a body to
 * JavaScript in a fresh buffer. The body's bytes go to `out` as views of the pushed bytes
 * (valid only during that call); nothing is copied here.
 */
import { CanopyError } from '../core/errors.js';

export type BodyFraming = { chunked: true } | { length: number };

/** Hex digits of a chunk size: 12 is 256 TiB, beyond any upload and within a safe integer. */
const MAX_SIZE_DIGITS = 12;
/** Bytes of chunk extensions on one chunk line, and of all trailer lines, as node:http's header limit bounds them. */
const MAX_EXTENSION_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
const CR = 0x0d;
const LF = 0x0a;

type State = 'size' | 'extension' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'trailer-line' | 'trailer-lf' | 'last-lf' | 'done';

function malformed(why: string): CanopyError {
  return new CanopyError('ERR_HTTP_REQUEST', `malformed chunked request body: ${why}`);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

export class TransferDecoder {
  private state: State;
  /** Bytes left of the current chunk (or of a Content-Length body). */
  private left: number;
  private digits = 0;
  private skipped = 0;
  private trailerBytes = 0;

  constructor(
    private readonly framing: BodyFraming,
    private readonly out: (bytes: Buffer) => void,
  ) {
    const chunked = 'chunked' in framing;
    this.left = chunked ? 0 : framing.length;
    this.state = chunked ? 'size' : this.left === 0 ? 'done' : 'data';
  }

  /** Whether the whole body came; bytes pushed after it are not part of it and are ignored. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Decodes `bytes`; returns `done`. Throws ERR_HTTP_REQUEST on malformed chunked framing. */
  push(bytes: Buffer): boolean {
    let pos = 0;
    while (pos < bytes.length && this.state !== 'done') {
      if (this.state === 'data') {
        const k = Math.min(this.left, bytes.length - pos);
        this.out(bytes.subarray(pos, pos + k));
        pos += k;
        this.left -= k;
        if (this.left === 0) this.state = 'chunked' in this.framing ? 'data-cr' : 'done';
      } else {
        this.step(bytes[pos]!);
        pos++;
      }
    }
    return this.done;
  }

  /** One byte of the chunked framing (sizes, line ends, extensions, trailers). */
  private step(c: number): void {
    switch (this.state) {
      case 'size':
        return this.sizeDigit(c);
      case 'extension':
        if (c === CR) this.state = 'size-lf';
        else if (++this.skipped > MAX_EXTENSION_BYTES) throw malformed(`chunk extensions over ${MAX_EXTENSION_BYTES} bytes`);
        return;
      case 'size-lf':
        if (c !== LF) throw malformed('a chunk size line does not end in CRLF');
        this.state = this.left === 0 ? 'trailer' : 'data';
        return;
      case 'data-cr':
        if (c !== CR) throw malformed('a chunk is longer than its size');
        this.state = 'data-lf';
        return;
      case 'data-lf':
        if (c !== LF) throw malformed('a chunk does not end in CRLF');
        this.state = 'size';
        this.digits = 0;
        this.skipped = 0;
        return;
      default:
        return this.trailerByte(c);
    }
  }

  private sizeDigit(c: number): void {
    const v = hexValue(c);
    if (v >= 0) {
      if (++this.digits > MAX_SIZE_DIGITS) throw malformed(`a chunk size of more than ${MAX_SIZE_DIGITS} hex digits`);
      this.left = this.left * 16 + v;
      return;
    }
    if (this.digits === 0) throw malformed('a chunk line without a size');
    if (c === CR) this.state = 'size-lf';
    else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = 'extension';
    else throw malformed(`byte 0x${c.toString(16)} in a chunk size`);
  }

  /** After the last chunk: trailer lines, skipped, then the empty line that ends the body. */
  private trailerByte(c: number): void {
    if (++this.trailerBytes > MAX_TRAILER_BYTES) throw malformed(`trailers over ${MAX_TRAILER_BYTES} bytes`);
    if (this.state === 'trailer') this.state = c === CR ? 'last-lf' : 'trailer-line';
    else if (this.state === 'trailer-line') {
      if (c === CR) this.state = 'trailer-lf';
    } else if (this.state === 'trailer-lf') {
      if (c !== LF) throw malformed('a trailer line does not end in CRLF');
      this.state = 'trailer';
    } else if (this.state === 'last-lf') {
      if (c !== LF) throw malformed('the body does not end in CRLF');
      this.state = 'done';
    }
  }
}
