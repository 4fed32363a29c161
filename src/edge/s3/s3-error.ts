/**
 * Errors of the S3 read API with S3's own codes and statuses, so S3 clients report them as
 * they would from AWS. Each is also a CanopyError (ERR_S3_AUTH for credentials and
 * signatures, ERR_S3_REQUEST for requests this API cannot answer) for logs and docs/ERRORS.md.
 */
import { CanopyError, isCanopyError } from '../../core/errors.js';

export const S3_CODES = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  InvalidRequest: 400,
  InvalidArgument: 400,
  InvalidURI: 400,
  InvalidRange: 416,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  MethodNotAllowed: 405,
  NotImplemented: 501,
  PreconditionFailed: 412,
  ServiceUnavailable: 503,
  InternalError: 500,
} as const;

export type S3Code = keyof typeof S3_CODES;

const AUTH: readonly S3Code[] = ['AccessDenied', 'AuthorizationHeaderMalformed', 'AuthorizationQueryParametersError', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed'];

export class S3Error extends CanopyError {
  readonly s3Code: S3Code;
  readonly httpStatus: number;

  constructor(s3Code: S3Code, message: string) {
    super(AUTH.includes(s3Code) ? 'ERR_S3_AUTH' : 'ERR_S3_REQUEST', message);
    this.name = 'S3Error';
    this.s3Code = s3Code;
    this.httpStatus = S3_CODES[s3Code];
  }
}

/** The S3 form of any error the read path can meet (Canopy's own codes mapped to S3's). */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (!isCanopyError(err)) return new S3Error('InternalError', 'internal error');
  switch (err.code) {
    case 'ERR_CONTENT_NOT_FOUND':
      return new S3Error('NoSuchBucket', err.message);
    case 'ERR_CONTENT_WITHDRAWN':
      return new S3Error('NoSuchBucket', err.message);
    case 'ERR_NOT_SYNCED':
    case 'ERR_NOT_HELD':
    case 'ERR_TIMEOUT':
    case 'ERR_UNREACHABLE':
      return new S3Error('ServiceUnavailable', err.message);
    case 'ERR_URL_SIGNATURE':
    case 'ERR_NOT_AUTHORISED':
      return new S3Error('AccessDenied', err.message);
    default:
      return new S3Error('InternalError', err.message);
  }
}
