/**
 * Runs a simulator scenario (the control tree, or the swarm) in a worker thread, so the CLI
 * can give it a large young generation (the simulators allocate many short-lived messages;
 * a bigger nursery cuts garbage-collection time by about a fifth) without asking users for
 * V8 flags.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runSwarmScenario, type SwarmScenarioOptions } from './swarm-scenario.js';
import { runTreeScenario, type TreeScenarioOptions } from './tree-scenario.js';

type Job = { kind: 'tree'; options: Partial<TreeScenarioOptions> } | { kind: 'swarm'; options: Partial<SwarmScenarioOptions> };

function runInWorker(job: Job): Promise<Record<string, unknown>> {
  const self = fileURLToPath(import.meta.url);
  const limits = { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 192, maxOldGenerationSizeMb: 12_288 } };
  // Under tsx (development, tests) the worker must register the TypeScript loader first.
  const worker =
    path.extname(self) === '.ts'
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`, { ...limits, eval: true })
      : new Worker(self, limits);
  return new Promise((resolve, reject) => {
    worker.once('message', (result: Record<string, unknown>) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`simulator worker exited with ${code}`)));
  });
}

export function runTreeScenarioInWorker(options: Partial<TreeScenarioOptions>): Promise<Record<string, unknown>> {
  return runInWorker({ kind: 'tree', options });
}

export function runSwarmScenarioInWorker(options: Partial<SwarmScenarioOptions>): Promise<Record<string, unknown>> {
  return runInWorker({ kind: 'swarm', options });
}

if (!isMainThread && parentPort) {
  const job = workerData as Job;
  parentPort.postMessage(job.kind === 'swarm' ? runSwarmScenario(job.options) : runTreeScenario(job.options));
}
