/**
 * The certificate for explicit FTPS. Operators give their own (--ftp-tls-cert/--ftp-tls-key);
 * otherwise a self-signed one is made once with openssl and kept in the data directory,
 * so AUTH TLS works out of the box (clients must then be told to trust it, as with any
 * self-signed server).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { CanopyError } from '../../core/errors.js';

export function loadTlsContext(dataDir: string, certFile?: string, keyFile?: string): tls.SecureContext {
  let cert = certFile;
  let key = keyFile;
  if (!cert || !key) {
    const dir = path.join(dataDir, 'ftp-tls');
    cert = path.join(dir, 'cert.pem');
    key = path.join(dir, 'key.pem');
    if (!existsSync(cert) || !existsSync(key)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=canopy-ftp', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
      } catch (err) {
        throw new CanopyError('ERR_CONFIG_INVALID', `ftpTls: no certificate given and openssl could not make one: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  try {
    return tls.createSecureContext({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new CanopyError('ERR_CONFIG_INVALID', `ftpTls: cannot load ${cert} / ${key}: ${(err as Error).message}`, { cause: err });
  }
}
