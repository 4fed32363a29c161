/**
 * An in-process cluster: a root and members as CanopyNode objects in this one process, each
 * with its own data directory, over the node's own transport (mutual TLS on loopback, ports
 * picked by the system), enrolled with join tokens like real members. Scenario tests drive
 * it through the admin API with `inject()` (no HTTP socket) and look at each node's
 * components. Real-process and netns tests stay where they are; this is for policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Attributes } from '../../src/core/attributes.js';
import { inject, type InjectReply, type InjectRequest } from '../../src/http/inject.js';
import { makeConfig, type NodeConfig } from '../../src/node/config.js';
import { CanopyNode, loadRootKit } from '../../src/node/node.js';
import { createJoinToken } from '../../src/security/join-token.js';
import { NodeSecurity } from '../../src/security/node-security.js';
import { readIfExists } from '../../src/security/secret-file.js';

export interface Cluster {
  root: CanopyNode;
  members: Map<string, CanopyNode>;
  member(name: string): CanopyNode;
  /** Calls a node's admin API route with its admin token, without a socket. */
  api(node: CanopyNode, request: InjectRequest): Promise<InjectReply>;
  /** Starts one more member (after the others, e.g. to see what a late joiner learns). */
  add(name: string, attrs: Attributes): Promise<CanopyNode>;
  stop(): Promise<void>;
}

function nodeConfig(dir: string, name: string, extra: Partial<NodeConfig>): NodeConfig {
  return makeConfig({ name, dataDir: dir, volumes: [{ path: path.join(dir, 'blocks') }], peerPort: 0, apiPort: 0, httpPort: 0, ftpPort: 0, s3Port: 0, apiTokenFile: path.join(dir, 'api-token'), heartbeatMs: 200, logLevel: 'warn', ...extra } as Partial<NodeConfig> & { dataDir: string });
}

export async function startCluster(members: Record<string, Attributes>, rootExtra: Partial<NodeConfig> = {}): Promise<Cluster> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'canopy-cluster-'));
  const started: CanopyNode[] = [];
  const open = async (name: string, config: NodeConfig, token?: string): Promise<CanopyNode> => {
    const security = await NodeSecurity.prepare({ dataDir: config.dataDir, isRoot: config.isRoot, rootAttrs: config.attrs, token, join: config.join });
    const node = new CanopyNode(config, security, undefined, config.isRoot ? { kit: await loadRootKit(), state: undefined } : undefined);
    await node.start();
    started.push(node);
    return node;
  };
  const stopAll = async () => {
    for (const node of started.reverse()) await node.stop();
    rmSync(base, { recursive: true, force: true });
  };
  // A cluster that fails half way stops what it started, so a failed fixture does not keep the test process alive.
  try {
    return await assemble(base, open, stopAll, rootExtra, members);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function assemble(base: string, open: (name: string, config: NodeConfig, token?: string) => Promise<CanopyNode>, stopAll: () => Promise<void>, rootExtra: Partial<NodeConfig>, members: Record<string, Attributes>): Promise<Cluster> {
  const root = await open('root', nodeConfig(path.join(base, 'root'), 'root', { isRoot: true, ...rootExtra }));
  const authority = root.security.authority;
  if (!authority) throw new Error('the root has no authority');
  const byName = new Map<string, CanopyNode>();
  const add = async (name: string, attrs: Attributes): Promise<CanopyNode> => {
    const token = createJoinToken({ attrs, ttlMs: 60_000, caKeyPem: authority.caKey, caFingerprint: authority.caFingerprint }).token;
    const node = await open(name, nodeConfig(path.join(base, name), name, { isRoot: false, join: root.addresses().peer }), token);
    byName.set(name, node);
    return node;
  };
  for (const [name, attrs] of Object.entries(members)) await add(name, attrs);
  return {
    root,
    members: byName,
    member: (name) => {
      const m = byName.get(name);
      if (!m) throw new Error(`no member ${name}`);
      return m;
    },
    api: (node, request) => {
      const token = readIfExists(node.config.apiTokenFile)?.trim() ?? '';
      return inject(node.c.apiServer, { ...request, headers: { authorization: `Bearer ${token}`, ...request.headers } });
    },
    add,
    stop: stopAll,
  };
}
