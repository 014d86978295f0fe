/**
 * A small pool of worker threads for blocking calls — the counterpart of FastAPI's run_in_threadpool. The event
 * loop hands the call to a free thread and awaits its answer; with every thread busy, calls queue (as Starlette's
 * pool of 40 threads does), so the pool bounds how many blocking calls run at once.
 */
import { Worker } from 'node:worker_threads';
import { workerFile } from '../lib/worker-file.js';
import type { SyncHttpResponse } from './http-sync.js';

interface Job {
  id: number;
  url: string;
  timeoutMs: number;
  resolve(value: SyncHttpResponse): void;
  reject(err: Error): void;
}

export class OffloadPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #queue: Job[] = [];
  #started = 0;
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** httpGetSync(url), run on a pool thread. */
  httpGet(url: string, timeoutMs = 10_000): Promise<SyncHttpResponse> {
    if (this.#closed) return Promise.reject(new Error('the offload pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, url, timeoutMs, resolve, reject });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('the offload pool is closed'));
    const all = [...this.#idle, ...this.#busy.keys()];
    this.#idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length) {
      const worker = this.#idle.pop() ?? (this.#started < this.#size ? this.#spawn() : undefined);
      if (!worker) return;
      const job = this.#queue.shift()!;
      this.#busy.set(worker, job);
      worker.postMessage({ id: job.id, url: job.url, timeoutMs: job.timeoutMs });
    }
  }

  #spawn(): Worker {
    this.#started++;
    const file = workerFile(import.meta.url, 'offload-worker');
    const worker = new Worker(file.filename, { eval: file.eval });
    worker.unref();
    worker.on('message', (m: { id: number; ok: boolean; value?: SyncHttpResponse; message?: string }) => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      if (job) {
        if (m.ok) job.resolve(m.value!);
        else job.reject(new Error(m.message));
      }
      if (!this.#closed) {
        this.#idle.push(worker);
        this.#dispatch();
      }
    });
    worker.on('error', (err) => {
      this.#busy.get(worker)?.reject(err);
      this.#busy.delete(worker);
      this.#started--;
      if (!this.#closed) this.#dispatch();
    });
    return worker;
  }
}
