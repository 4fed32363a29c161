/**
 * What a SIGHUP can change in a running node, decided by comparing the settings it runs with
 * to the settings read again (file and flags): upload and download caps, FTP accounts (and
 * anonymous login) and the log level apply at once; anything else that differs is named so
 * the operator knows a restart is needed for it. `planReload` is pure; `applyReload` changes
 * the running parts.
 */
import { isDeepStrictEqual } from 'node:util';
import { setLogLevel, type Logger } from '../core/logger.js';
import type { FtpUsers } from '../edge/ftp/ftp-users.js';
import type { Downloader } from '../swarm/downloader.js';
import type { UploadLimiter } from '../swarm/upload-limiter.js';
import type { NodeConfig } from './config.js';

export interface ReloadPlan {
  uploadCap?: number;
  downloadCap?: number;
  ftpUsers?: NodeConfig['ftp']['users'];
  ftpAnonymous?: boolean;
  logLevel?: NodeConfig['logLevel'];
  /** Keys that changed but only take effect after a restart. */
  restart: string[];
}

const LIVE = new Set(['uploadCap', 'downloadCap', 'logLevel', 'ftp']);

export function planReload(current: NodeConfig, next: NodeConfig): ReloadPlan {
  const plan: ReloadPlan = { restart: [] };
  if (current.uploadCap !== next.uploadCap) plan.uploadCap = next.uploadCap;
  if (current.downloadCap !== next.downloadCap) plan.downloadCap = next.downloadCap;
  if (current.logLevel !== next.logLevel) plan.logLevel = next.logLevel;
  // The accounts are replaced as a whole: users and anonymous login together.
  if (!isDeepStrictEqual(current.ftp.users, next.ftp.users) || current.ftp.anonymous !== next.ftp.anonymous) {
    plan.ftpUsers = next.ftp.users;
    plan.ftpAnonymous = next.ftp.anonymous;
  }
  for (const key of Object.keys(next) as (keyof NodeConfig)[]) {
    // The join token is used once, at the first start: a new one in the environment changes nothing.
    if (LIVE.has(key) || key === 'token') continue;
    if (!isDeepStrictEqual(current[key], next[key])) plan.restart.push(key);
  }
  for (const key of ['requireTls', 'tlsCert', 'tlsKey'] as const) {
    if (current.ftp[key] !== next.ftp[key]) plan.restart.push(`ftp.${key}`);
  }
  return plan;
}

/** The live part of a plan, as log fields (never the FTP passwords). */
export function describePlan(plan: ReloadPlan): Record<string, unknown> {
  const applied: Record<string, unknown> = {};
  if (plan.uploadCap !== undefined) applied.uploadCap = plan.uploadCap;
  if (plan.downloadCap !== undefined) applied.downloadCap = plan.downloadCap;
  if (plan.logLevel !== undefined) applied.logLevel = plan.logLevel;
  if (plan.ftpUsers !== undefined) applied.ftpUsers = plan.ftpUsers.map((u) => u.name);
  if (plan.ftpAnonymous !== undefined) applied.ftpAnonymous = plan.ftpAnonymous;
  return applied;
}

/** The running parts a reload changes. */
export interface Reloadable {
  uploadLimiter: UploadLimiter;
  downloader: Downloader;
  ftpUsers: FtpUsers;
  log: Logger;
  /** Re-read on every reload: the certificate files may have been replaced under the same names. */
  https: { refresh(): Promise<boolean> };
}

export function applyReload(plan: ReloadPlan, parts: Reloadable): void {
  if (plan.uploadCap !== undefined) parts.uploadLimiter.cap = plan.uploadCap;
  if (plan.downloadCap !== undefined) parts.downloader.setDownloadCap(plan.downloadCap);
  if (plan.logLevel !== undefined) setLogLevel(parts.log, plan.logLevel);
  if (plan.ftpUsers !== undefined) parts.ftpUsers.replace(plan.ftpUsers, plan.ftpAnonymous ?? false);
  void parts.https.refresh();
}
