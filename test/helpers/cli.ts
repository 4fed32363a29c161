/** Runs the real `canopy` CLI as a child process, as a user would. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliCommand } from '../../src/demo/local-network.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Tests never touch the user's own publisher key: without CANOPY_KEY, one per test process is used. */
const TEST_KEY = path.join(tmpdir(), `canopy-test-key-${process.pid}.json`);
process.once('exit', () => rmSync(TEST_KEY, { force: true }));
// LocalNetwork (in this process) authorises the default key at start: the same test key.
process.env.CANOPY_KEY ??= TEST_KEY;

export function runCli(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const { command, args: base } = cliCommand();
  return runCommand(command, [...base, ...args], { ...options, env: { CANOPY_KEY: process.env.CANOPY_KEY ?? TEST_KEY, ...options.env } });
}

export function runCommand(command: string, args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function tempDir(prefix = 'canopy-test-'): { path: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The last line of output parsed as JSON (the convention for --json and --exit). */
export function lastJson<T = Record<string, unknown>>(text: string): T {
  const lines = text.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
