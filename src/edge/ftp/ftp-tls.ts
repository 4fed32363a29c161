/**
 * The certificate for explicit FTPS. Operators give their own (--ftp-tls-cert/--ftp-tls-key);
 * otherwise a self-signed one is made once with openssl and kept in the data directory,
 * so AUTH TLS works out of the box (clients must then be told to trust it, as with any
 * self-signed server).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { CanopyError } from '../../core/errors.js';
import { makeDirs } from '../../store/make-dirs.js';

/**
 * The context for AUTH TLS. A configured certificate that cannot be loaded is a
 * configuration error; when none is configured and none can be made (no openssl), the
 * server runs without TLS and says so (`onMissing`), rather than not starting at all.
 */
export function loadTlsContext(dataDir: string, certFile?: string, keyFile?: string, onMissing?: (why: string) => void): tls.SecureContext | undefined {
  if (certFile || keyFile) return load(certFile, keyFile);
  try {
    return load(...selfSigned(dataDir));
  } catch (err) {
    onMissing?.((err as Error).message);
    return undefined;
  }
}

function selfSigned(dataDir: string): [string, string] {
  const dir = path.join(dataDir, 'ftp-tls');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    makeDirs(dir, 0o700);
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=canopy-ftp', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    } catch (err) {
      throw new CanopyError('ERR_CONFIG_INVALID', `ftpTls: no certificate given and openssl could not make one: ${(err as Error).message}`, { cause: err });
    }
  }
  return [cert, key];
}

function load(cert: string | undefined, key: string | undefined): tls.SecureContext {
  if (!cert || !key) throw new CanopyError('ERR_CONFIG_INVALID', 'ftpTls: give both --ftp-tls-cert and --ftp-tls-key');
  try {
    return tls.createSecureContext({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new CanopyError('ERR_CONFIG_INVALID', `ftpTls: cannot load ${cert} / ${key}: ${(err as Error).message}`, { cause: err });
  }
}
