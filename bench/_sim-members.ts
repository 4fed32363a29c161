/**
 * Many members in one process, for the root-load bench: each has its own P-256 key, a node
 * certificate issued by the cluster's CA and a root-signed attribute record (minted here with
 * the CA key read from the root's data directory, as enrolment would issue them), and its own
 * mutual-TLS connection to the root's peer port (the product's TlsTransport and
 * PeerConnection), on which it says `hello`, `join`s and then sends `progress` reports. What a
 * member does besides (storing blocks, the control tree, swarming) is not simulated: the
 * root's cost of a member is its connection, its join and its reports.
 *
 * A report's latency is measured by a `ping` sent right behind it on the same connection: the
 * root handles a connection's messages in order and a progress report synchronously, so the
 * ping's answer comes once the report has been applied.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attributes } from '../src/core/attributes.js';
import { initRoot, loadCredentials, securityDir } from '../src/security/credentials.js';
import { signAttributeRecord, type AttributeRecord } from '../src/security/attribute-record.js';
import { TlsTransport } from '../src/security/tls-transport.js';
import { generateKeyPair, issueNodeCertificate, newNodeId } from '../src/security/x509.js';
import { PeerConnection } from '../src/wire/peer-connection.js';
import { PROTOCOL_VERSION } from '../src/wire/messages.js';
import type { PeerAddress } from '../src/wire/transport.js';

export interface SimMember {
  nodeId: string;
  name: string;
  keyPem: string;
  certPem: string;
  record: AttributeRecord;
  conn?: PeerConnection;
}

/** Members with real credentials of the cluster whose CA this is (what enrolment would give them). */
export async function mintMembers(count: number, ca: { certPem: string; keyPem: string }, attrs: (i: number) => Attributes): Promise<SimMember[]> {
  const out: SimMember[] = [];
  for (let i = 0; i < count; i++) {
    const keys = generateKeyPair();
    const nodeId = newNodeId();
    const certPem = await issueNodeCertificate({ nodeId, publicKeyPem: keys.publicKeyPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem });
    out.push({ nodeId, name: `sim-${i}`, keyPem: keys.privateKeyPem, certPem, record: signAttributeRecord(nodeId, attrs(i), i + 1, ca.keyPem) });
  }
  return out;
}

/** The credential files of a root (its CA, key, certificate and record); not its authority or trust state. */
const ROOT_FILES = ['ca.crt', 'ca.key', 'node.crt', 'node.key', 'attributes.json'];

export interface Fixtures {
  /** A data directory holding only a root's credentials (the cluster CA): copied into each root started. */
  rootDir: string;
  ca: { certPem: string; keyPem: string };
  members: SimMember[];
}

/**
 * One cluster CA and `count` members of it, kept in `dir` between runs: issuing a certificate
 * costs ~10 ms of CPU (as at enrolment), two minutes for 10,000. A run needing more members
 * than the directory holds mints them all again.
 */
export async function fixtures(dir: string, count: number, attrs: (i: number) => Attributes): Promise<Fixtures> {
  const rootDir = path.join(dir, 'root');
  const file = path.join(dir, 'members.json');
  let creds = loadCredentials(rootDir);
  if (!creds) {
    mkdirSync(rootDir, { recursive: true });
    creds = await initRoot(rootDir);
  }
  const ca = { certPem: creds.caCertPem, keyPem: creds.caKeyPem! };
  let members = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SimMember[]) : [];
  if (members.length < count) {
    members = await mintMembers(count, ca, attrs);
    writeFileSync(file, JSON.stringify(members));
  }
  return { rootDir, ca, members: members.slice(0, count) };
}

/**
 * Makes `dataDir` a root of the fixtures' cluster. With `known`, the root's trust file already
 * holds every member's record, as on a root restarted under its members; without it, each
 * member's first hello makes the root add its record and rewrite the file (the cost of a
 * root that meets its members for the first time, e.g. a new leader on a fresh host).
 */
export function seedRoot(f: Fixtures, dataDir: string, known: boolean): void {
  const sec = securityDir(dataDir);
  mkdirSync(sec, { recursive: true });
  for (const name of ROOT_FILES) copyFileSync(path.join(securityDir(f.rootDir), name), path.join(sec, name));
  if (known) writeFileSync(path.join(sec, 'trust.json'), JSON.stringify({ records: Object.fromEntries(f.members.map((m) => [m.nodeId, m.record])), revocations: null }));
}

/**
 * Connects, says hello and joins, `concurrency` members at a time (the root accepts at most
 * 32 TLS handshakes in progress from one address). Resolves with the join latencies (ms).
 */
export async function joinAll(members: SimMember[], root: PeerAddress, caCertPem: string, concurrency = 16): Promise<{ joinMs: number[]; failed: number }> {
  const joinMs: number[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < members.length) {
      const m = members[next++]!;
      const t0 = performance.now();
      try {
        m.conn = await joinOne(m, root, caCertPem);
        joinMs.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { joinMs, failed };
}

async function joinOne(m: SimMember, root: PeerAddress, caCertPem: string): Promise<PeerConnection> {
  const transport = new TlsTransport({ credentials: () => ({ key: m.keyPem, cert: m.certPem, ca: caCertPem }), isRevoked: () => false });
  const stream = await transport.connect(root);
  // What the root may ask of a member: answered empty (a ping), everything else is one-way.
  const conn = new PeerConnection(stream, async (req) => (req.type === 'ping' ? { body: {} } : undefined));
  try {
    await conn.request('hello', { nodeId: m.nodeId, name: m.name, record: m.record, version: PROTOCOL_VERSION }, { timeoutMs: 60_000 });
    conn.remoteId = conn.transportPeerId;
    // Addresses nobody dials in this bench (holders lists name them; no member downloads).
    await conn.request('join', { peer: { host: '127.0.0.1', port: 9 }, api: 'http://127.0.0.1:9', http: 'http://127.0.0.1:9', prefetch: true }, { timeoutMs: 60_000 });
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}

/** A content being "downloaded" by every member from `startedAt` for `seconds`. */
export interface SimContent {
  contentId: string;
  blocks: number;
  size: number;
  startedAt: number;
}

export interface ReportLoop {
  stop(): Promise<{ reports: number; failed: number; latencyMs: number[] }>;
}

/**
 * Every member reports every `everyMs` (phases spread evenly over the period) on each content
 * it is downloading, with its progress growing linearly over `downloadMs`, then once more
 * complete. One report in `sampleEvery` is followed by a ping whose round trip is recorded.
 */
export function startReports(members: SimMember[], contents: () => SimContent[], o: { everyMs: number; downloadMs: number; sampleEvery: number }): ReportLoop {
  const SLOT_MS = 100;
  const slots = Math.max(1, Math.round(o.everyMs / SLOT_MS));
  const done = new Set<string>();
  const latencyMs: number[] = [];
  let reports = 0;
  let failed = 0;
  let tick = 0;
  let stopped = false;
  const pending = new Set<Promise<void>>();
  const report = (m: SimMember, c: SimContent, now: number, sample: boolean) => {
    const conn = m.conn;
    if (!conn || conn.isClosed) return;
    const share = Math.min(1, (now - c.startedAt) / o.downloadMs);
    const haveBlocks = Math.floor(share * c.blocks);
    const body = { contentId: c.contentId, haveBlocks, haveBytes: Math.floor(share * c.size), fetchedBytes: Math.floor(share * c.size) };
    if (haveBlocks === c.blocks) done.add(`${m.nodeId}/${c.contentId}`);
    reports++;
    const t0 = performance.now();
    const p = conn
      .notify('progress', body)
      .then(async () => {
        if (!sample) return;
        await conn.request('ping', {}, { timeoutMs: 60_000 });
        latencyMs.push(performance.now() - t0);
      })
      .catch(() => void failed++)
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const loop = (async () => {
    while (!stopped) {
      const slot = tick % slots;
      const now = Date.now();
      const live = contents().filter((c) => c.startedAt <= now);
      for (let i = slot; i < members.length; i += slots) {
        const m = members[i]!;
        for (const c of live) if (!done.has(`${m.nodeId}/${c.contentId}`)) report(m, c, now, reports % o.sampleEvery === 0);
      }
      tick++;
      await sleep(SLOT_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(pending);
      return { reports, failed, latencyMs };
    },
  };
}

export function closeAll(members: SimMember[]): void {
  for (const m of members) m.conn?.destroy();
}
