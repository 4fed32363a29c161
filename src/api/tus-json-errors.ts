/**
 * @tus/server answers its errors as plain text (`Tus-Resumable Required`, `Invalid
 * upload-offset`, ...). Every API error is `{"error":{"code","message"}}` (docs/ERRORS.md),
 * so the tus routes hand tus a response whose error answers are rewritten on the way out:
 * the status tus chose stays (412, 409, 404...), its headers stay (Tus-Resumable), its text
 * becomes the message under the code ERR_UPLOAD_PROTOCOL. Success answers pass untouched.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendJson } from '../http/http-util.js';

type HeaderArg = OutgoingHttpHeaders | readonly string[] | readonly (readonly [string, string])[] | undefined;

function headerPairs(h: HeaderArg): [string, string][] {
  if (!h) return [];
  if (Array.isArray(h)) {
    if (h.length > 0 && typeof h[0] === 'string') {
      const flat = h as readonly string[];
      const out: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
      return out;
    }
    return (h as readonly (readonly [string, string])[]).map(([k, v]) => [k, v]);
  }
  return Object.entries(h as OutgoingHttpHeaders).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]]));
}

/** Makes tus's error answers on `res` JSON; returns `res` itself. */
export function tusJsonErrors(res: ServerResponse): ServerResponse {
  const { writeHead, write, end } = res;
  let status = 0;
  const body: Buffer[] = [];
  res.writeHead = function (this: ServerResponse, code: number, ...rest: unknown[]) {
    if (code < 400) return (writeHead as (...a: unknown[]) => ServerResponse).call(this, code, ...rest);
    status = code;
    const headers = (typeof rest[0] === 'string' ? rest[1] : rest[0]) as HeaderArg;
    for (const [k, v] of headerPairs(headers)) if (!/^content-(length|type)$/i.test(k)) res.setHeader(k, v);
    return res;
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (status === 0) return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    if (chunk !== undefined && typeof chunk !== 'function') body.push(Buffer.from(chunk as string));
    return true;
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (status === 0) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (args[0] !== undefined && typeof args[0] !== 'function') body.push(Buffer.from(args[0] as string));
    res.writeHead = writeHead;
    res.write = write;
    res.end = end;
    const message = Buffer.concat(body).toString('utf8').trim() || `upload request refused (${status})`;
    sendJson(res, status, { error: { code: 'ERR_UPLOAD_PROTOCOL', message } });
    callback?.();
    return res;
  } as ServerResponse['end'];
  return res;
}
