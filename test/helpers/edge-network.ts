/** A root that publishes and holds, plus nodes started with their own extra arguments (e.g. --no-prefetch). */
import { LocalNetwork, type NodeSpec, type RunningNode } from '../../src/demo/local-network.js';
import { lastJson, runCli } from './cli.js';
import { findApiToken } from '../../src/client/api-token.js';

export async function startNetwork(dir: string, rootArgs: string[], nodes: { spec: NodeSpec; args: string[] }[]): Promise<LocalNetwork> {
  const network = new LocalNetwork(dir);
  await network.start([], rootArgs);
  try {
    const join = `${network.root!.peer.host}:${network.root!.peer.port}`;
    for (const [i, n] of nodes.entries()) network.nodes.push(await network.spawnNode(n.spec, i + 1, ['--join', join, ...n.args]));
    await network.waitJoined(nodes.length);
  } catch (err) {
    await network.stop();
    throw err;
  }
  return network;
}

export async function publish(network: LocalNetwork, file: string, args: string[] = []): Promise<string> {
  const r = await runCli(['publish', file, '--to', network.root!.api, '--json', ...args]);
  if (r.code !== 0) throw new Error(`publish failed: ${r.stderr}`);
  return lastJson<{ contentId: string }>(r.stdout).contentId;
}

export async function holding(node: RunningNode, contentId: string): Promise<{ haveBlocks: number; totalBlocks: number }> {
  // The admin API needs a bearer token: LocalNetwork exports its token file in CANOPY_API_TOKEN_FILE.
  const body = (await fetch(`${node.api}/api/contents/${contentId}`, { headers: { authorization: `Bearer ${findApiToken()}` } }).then((r) => r.json())) as { local: { haveBlocks: number; totalBlocks: number } };
  return body.local;
}
