/**
 * Worker threads for evaluate: each has its own tfjs engine and backend (wasm runs one thread
 * per engine), the model loaded from its serialised artifacts, and runs whole chunks of samples.
 * A chunk gives the same result in any thread, because per-sample randomness is keyed by the
 * sample's index and the backend is the same.
 */
import { Worker } from 'node:worker_threads';
import type { Classifier } from '../../model/classifier.js';
import type { PlainRun, ShardInit, ShardReply, ShardTask } from './protocol.js';

/**
 * The worker's code: shard-worker.js next to the built bundle or, when robustest runs from its
 * TypeScript sources (its own tests), the source file loaded through tsx.
 */
function spawnWorker(init: ShardInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./shard-worker.js', here), { workerData: init });
  const source = JSON.stringify(new URL('./worker.ts', here).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); })`, { eval: true, workerData: init });
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class ShardPool {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(run: PlainRun): void; reject(error: Error): void }>();
  private readonly waiting: (() => void)[] = [];

  private constructor(private readonly slots: Slot[]) {
    for (const slot of slots) {
      slot.worker.on('message', (reply: ShardReply) => {
        if (!('id' in reply)) return;
        const task = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        slot.busy = false;
        this.waiting.shift()?.();
        if ('run' in reply) task?.resolve(reply.run);
        else task?.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
      });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Starts `size` workers for this classifier; null when the model cannot travel or a worker fails to start. */
  static async open(clf: Classifier, size: number, backend: string): Promise<ShardPool | null> {
    const model = (await clf.transferable?.()) ?? null;
    if (model === null) return null;
    const init: ShardInit = { model, backend };
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const worker = spawnWorker(init);
        worker.unref();
        slots.push({ worker, busy: false });
      }
      await Promise.all(slots.map((slot) => ready(slot.worker)));
      return new ShardPool(slots);
    } catch {
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
      return null;
    }
  }

  async run(task: Omit<ShardTask, 'id'>): Promise<PlainRun> {
    let slot = this.slots.find((s) => !s.busy);
    while (!slot) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      slot = this.slots.find((s) => !s.busy);
    }
    slot.busy = true;
    const id = this.nextId++;
    return new Promise<PlainRun>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...task, id } satisfies ShardTask);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}

function ready(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', function onReady(reply: ShardReply) {
      if ('ready' in reply) resolve();
      else if ('failed' in reply) reject(new Error(reply.failed));
      else return;
      worker.off('message', onReady);
    });
  });
}
