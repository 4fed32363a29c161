/** Shared by the release tests (test/package): what a host does with installed files. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

/** Waits until the edge at `http` serves content `contentId` and returns the served bytes' sha256. */
export async function servedSha256(http: string, contentId: string, timeoutMs = 60_000): Promise<string> {
  let got = '';
  await waitFor('the member serves the file', async () => {
    const res = await fetch(`${http}/content/${contentId}`);
    if (res.status !== 200) return false;
    got = createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
    return true;
  }, timeoutMs);
  return got;
}

export const fileSha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Resident set of a running process, MiB. */
export const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
