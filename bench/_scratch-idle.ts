import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoAttributes, LocalNetwork } from '../src/demo/local-network.js';
process.env.CANOPY_CLI ??= 'dist';
async function main() {
  const net = new LocalNetwork(path.join(mkdtempSync('/tmp/p18/idle/net-'), 'net'), 0);
  await net.start([{ name: 'node-1', attrs: demoAttributes(0) }]);
  await sleep(2000);
  console.log('pids', net.root!.process.pid, net.nodes[0]!.process.pid);
  await net.stop();
}
void main();
