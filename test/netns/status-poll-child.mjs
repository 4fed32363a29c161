// The child of status-poller.ts, run inside the root's namespace: GET `url` with the admin
// token every `intervalMs` (from the end of one answer to the start of the next, as
// waitComplete's own loop paced curl), each on a new connection as curl made, and print one
// JSON line per poll: {"answerMs", "body"} or {"error"}. Plain JavaScript: no loader to start.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, tokenFile, intervalArg] = process.argv.slice(2);
const intervalMs = Number(intervalArg);

function poll() {
  const token = readFileSync(tokenFile, 'utf8').trim();
  const at = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 10_000, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => resolve({ error: e.message }));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) resolve({ error: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
        else resolve({ answerMs: performance.now() - at, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

for (;;) {
  process.stdout.write(`${JSON.stringify(await poll())}\n`);
  await sleep(intervalMs);
}
