/** `canopy demo --exit` (what `npm start` runs) verifies distribution and ends with one JSON line. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';

const dir = tempDir();
after(() => dir.remove());

it('demo with 4 nodes distributes to the 2 qualified ones and verifies them', async () => {
  const r = await runCli(['demo', '--nodes', '4', '--size', '24MiB', '--block-size', '1MiB', '--exit', '--base-port', '0', '--dir', `${dir.path}/demo`], { timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = lastJson<Record<string, unknown>>(r.stdout);
  assert.equal(result.ok, true);
  assert.equal(result.nodes, 4);
  assert.equal(result.qualified, 2);
  assert.equal(result.verified, 2);
  assert.equal(result.unqualifiedHolding, 0);
  assert.equal(result.refused, 2, 'holders refused both unqualified nodes');
  assert.equal(typeof result.seconds, 'number');
  assert.match(r.stdout, /verified: 2 of 2 qualified nodes/);
  // Every node's S3 endpoint beside its HTTP one (issue 20), and its FTP edge with an account that its node accepts (the file it was started with).
  assert.equal(r.stdout.match(/ {2}node-\d .* http http:\/\/127\.0\.0\.1:\d+ {2}s3 http:\/\/127\.0\.0\.1:\d+ {2}ftp ftp:\/\/127\.0\.0\.1:\d+$/gm)?.length, 4, r.stdout);
  const login = /FTP login on every node: (\w+) \/ (\S+) \(from (.+)\)$/m.exec(r.stdout);
  assert.ok(login, r.stdout);
  assert.equal(readFileSync(login[3]!, 'utf8'), `${login[1]}:${login[2]}\n`);
});
