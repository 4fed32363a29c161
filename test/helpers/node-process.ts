/** Starts `canopy node` as a child process and waits for its `ready` JSON line on stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cliCommand } from '../../src/demo/local-network.js';

export interface Ready {
  api: string;
  http: string;
  ftp: string;
  peer: { host: string; port: number };
}

export interface StartedNode {
  child: ChildProcess;
  ready: Ready;
  stderr: () => string;
}

export function startNode(args: string[], options: { env?: Record<string, string>; command?: string[] } = {}): Promise<StartedNode> {
  const { command, args: base } = cliCommand();
  const [cmd, ...pre] = options.command ?? [command, ...base];
  const child = spawn(cmd!, [...pre, 'node', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('"ready"')) resolve({ child, ready: JSON.parse(line) as Ready, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code}: ${err}`)));
  });
}
