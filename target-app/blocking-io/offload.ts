/**
 * A small pool of worker threads for blocking calls — the counterpart of FastAPI's run_in_threadpool. The event
 * loop hands the call to a free thread and awaits its answer; with every thread busy, calls queue (as Starlette's
 * pool of 40 threads does), so the pool bounds how many blocking calls run at once. It counts what that costs
 * (`stats()`, served in GET /stats): calls, the calls that found every thread busy, and their time in the queue.
 */
import { Worker } from 'node:worker_threads';
import { workerFile } from '../lib/worker-file.js';
import type { SyncHttpResponse } from './http-sync.js';

interface Job {
  id: number;
  url: string;
  timeoutMs: number;
  /** performance.now() when the call was handed to the pool. */
  queuedAt: number;
  /** No thread was free when it came: it waits in the queue. */
  waits?: boolean;
  resolve(value: SyncHttpResponse): void;
  reject(err: Error): void;
}

/** Running totals since the pool was made (GET /stats `blockingIo.pool`; a reader subtracts two readings). */
export interface OffloadPoolStats {
  /** Threads the pool may run (BLOCKING_POOL_SIZE). */
  size: number;
  /** Calls handed to a thread. */
  calls: number;
  /** Calls that found every thread busy and waited in the queue. */
  queued: number;
  /** ms the calls spent in the queue before a thread took them, in all. */
  queuedMs: number;
}

export class OffloadPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #queue: Job[] = [];
  #started = 0;
  #nextId = 1;
  #closed = false;
  readonly #stats: OffloadPoolStats;

  constructor(size: number) {
    this.#size = Math.max(1, size);
    this.#stats = { size: this.#size, calls: 0, queued: 0, queuedMs: 0 };
  }

  stats(): OffloadPoolStats {
    return { ...this.#stats, queuedMs: Math.round(this.#stats.queuedMs * 1000) / 1000 };
  }

  /** httpGetSync(url), run on a pool thread. */
  httpGet(url: string, timeoutMs = 10_000): Promise<SyncHttpResponse> {
    if (this.#closed) return Promise.reject(new Error('the offload pool is closed'));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.#nextId++, url, timeoutMs, queuedAt: performance.now(), resolve, reject };
      this.#queue.push(job);
      this.#dispatch();
      if (this.#queue.includes(job)) job.waits = true;
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
      this.#stats.calls++;
      if (job.waits) {
        this.#stats.queued++;
        this.#stats.queuedMs += performance.now() - job.queuedAt;
      }
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
