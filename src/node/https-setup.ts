/**
 * HTTPS for the admin API and the HTTP edge: before they listen, the node gets its key and
 * certificate (the operator's files, or one the cluster CA issues for the node's names:
 * the root signs its own, a member asks the root over its mutual-TLS link) and sets them on
 * the servers; every 12 hours it checks again, so a cluster-issued certificate is renewed
 * a month before it expires and a replaced operator file is picked up, without a restart.
 */
import type http from 'node:http';
import { CanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isHttps } from '../http/web-server.js';
import { clusterServerCredentials, operatorServerCredentials, type IssueServerCertificate, type ServerCredentials } from '../security/https-credentials.js';
import type { NodeSecurity } from '../security/node-security.js';
import { checkServerNames } from '../security/server-names.js';
import type { PeerPool } from '../wire/peer-pool.js';
import type { NodeConfig } from './config.js';

export const HTTPS_CHECK_MS = 12 * 3_600_000;
/** Addresses that mean "every interface": not a name a client connects to. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

export interface HttpsDeps {
  config: NodeConfig;
  security: NodeSecurity;
  log: Logger;
  /** The servers that speak HTTPS (made with createWebServer(true, ...)). */
  servers: http.Server[];
  /** The peer pool, for a member to ask its root. */
  pool: PeerPool;
}

/** The names a cluster-issued certificate carries: the configured ones, the node's addresses, localhost. */
export function serverNames(config: NodeConfig): string[] {
  const own = [config.host, config.apiHost].filter((h) => !WILDCARDS.has(h));
  return checkServerNames([...config.https.names, ...own, 'localhost', '127.0.0.1', '::1']);
}

export class HttpsSetup {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: HttpsDeps) {}

  /** Sets the key and certificate on every HTTPS server; throws (the node does not start) when there are none to be had. */
  async start(): Promise<void> {
    if (this.deps.servers.length === 0) return;
    this.apply(await this.credentials());
    this.timer = setInterval(() => void this.refresh(), HTTPS_CHECK_MS);
    this.timer.unref();
  }

  /**
   * Reads the operator's files again (or checks the cluster certificate) and swaps them in
   * for new connections; on failure the current ones stay. Every 12 hours, and on SIGHUP so
   * that a certificate replaced by the operator's tooling is served after `systemctl reload`.
   */
  async refresh(): Promise<boolean> {
    if (this.deps.servers.length === 0) return false;
    try {
      this.apply(await this.credentials());
      return true;
    } catch (err) {
      this.deps.log.warn('HTTPS certificate check failed; serving the current one', { err: err as Error });
      return false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private apply(c: ServerCredentials): void {
    for (const server of this.deps.servers) if (isHttps(server)) server.setSecureContext({ key: c.keyPem, cert: c.certPem });
  }

  private async credentials(): Promise<ServerCredentials> {
    const { config, security, log } = this.deps;
    const { cert, key } = config.https;
    if (cert !== undefined && key !== undefined) return operatorServerCredentials(cert, key);
    const names = serverNames(config);
    const c = await clusterServerCredentials(config.dataDir, security.caCertPem, names, this.issuer());
    if (c.issued) log.info('HTTPS certificate issued by the cluster CA', { names, validTo: new Date(c.validTo).toISOString() });
    return c;
  }

  private issuer(): IssueServerCertificate {
    const { config, security, pool } = this.deps;
    const authority = security.authority;
    if (authority) return (publicKey, names) => authority.issueServer(security.nodeId, publicKey, names);
    return async (publicKey, names) => {
      if (!config.join) throw new CanopyError('ERR_CONFIG_INVALID', 'https: a member without a root address cannot get a certificate from the cluster CA; give https.cert and https.key');
      try {
        const conn = await pool.get(config.join);
        return String((await conn.request('server-cert', { publicKey, names })).header.cert);
      } catch (err) {
        throw new CanopyError('ERR_UNREACHABLE', `https: no usable certificate in ${config.dataDir}/security and the root at ${config.join.host}:${config.join.port} did not issue one (${(err as Error).message}); it is asked again at the next start`, { cause: err });
      }
    };
  }
}
