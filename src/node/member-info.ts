/**
 * The root's question to a member for the dashboard and `canopy top`: asked on the link the
 * member opened to the root (mutual TLS with cluster certificates, so no API token or open
 * admin port is involved), briefly, and answered with undefined when the member is silent.
 */
import type { PeerConnection } from '../wire/peer-connection.js';

export const MEMBER_TIMEOUT_MS = 1_500;

export async function askMemberInfo(conn: PeerConnection | undefined, timeoutMs = MEMBER_TIMEOUT_MS): Promise<{ store?: unknown } | undefined> {
  if (!conn) return undefined;
  try {
    const reply = await conn.request('node-info', {}, { timeoutMs });
    return { store: reply.header.store };
  } catch {
    return undefined;
  }
}
