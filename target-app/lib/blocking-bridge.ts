/**
 * A synchronous call into an asynchronous worker: the calling thread posts a request, then sleeps in
 * Atomics.wait until the worker has answered, and reads the answer with receiveMessageOnPort. Nothing else runs on
 * the calling thread meanwhile: no timers, no I/O callbacks, no other request. That is the point — this is how a
 * synchronous driver behaves inside an event loop.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { workerFile } from './worker-file.js';

export interface BridgeRequest {
  op: string;
  [key: string]: unknown;
}

export interface BridgeError {
  message: string;
  code?: string;
  name?: string;
  [key: string]: unknown;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: BridgeError };

/** The error a bridged call failed with, carrying the worker-side fields (e.g. PostgreSQL's `code`). */
export class BridgedError extends Error {
  code?: string;
  constructor(e: BridgeError) {
    super(e.message);
    Object.assign(this, e);
    this.name = e.name && e.name !== 'Error' ? e.name : 'BridgedError';
  }
}

export class BlockingBridge {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  #nextId = 1;
  #closed = false;

  /** `script`: a worker module (name without extension, next to `fromUrl`) that calls serveBridge(). */
  constructor(fromUrl: string, script: string, workerData: Record<string, unknown> = {}) {
    const { port1, port2 } = new MessageChannel();
    this.#signal = new Int32Array(new SharedArrayBuffer(4));
    const file = workerFile(fromUrl, script);
    this.#worker = new Worker(file.filename, {
      eval: file.eval,
      workerData: { ...workerData, port: port2, signal: this.#signal },
      transferList: [port2],
    });
    this.#worker.unref(); // never keeps the process alive
    this.#worker.on('error', () => {}); // surfaced to callers as timeouts; a crash must not take the app down
    this.#port = port1;
  }

  /** Blocks the calling thread until the worker answers (or `timeoutMs` passes). */
  callSync<T>(request: BridgeRequest, timeoutMs: number): T {
    if (this.#closed) throw new Error('the blocking bridge is closed');
    const id = this.#nextId++;
    this.#port.postMessage({ ...request, id });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      Atomics.store(this.#signal, 0, 0);
      for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
        const reply = m.message as Reply;
        if (reply.id !== id) continue; // the late answer to a call that already timed out
        if (reply.ok) return reply.value as T;
        throw new BridgedError(reply.error);
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.#signal, 0, 0, left) === 'timed-out') {
        throw Object.assign(new Error(`blocking call "${request.op}" timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
    await this.#worker.terminate();
  }
}

/** The worker side: answer each request with `handle`'s result, then wake the waiting thread. */
export function serveBridge(
  data: { port: MessagePort; signal: Int32Array },
  handle: (request: BridgeRequest) => Promise<unknown>,
): void {
  const { port, signal } = data;
  port.on('message', async (request: BridgeRequest & { id: number }) => {
    let reply: Reply;
    try {
      reply = { id: request.id, ok: true, value: await handle(request) };
    } catch (err) {
      const e = err as Record<string, unknown> & { message?: string; name?: string };
      const error: BridgeError = { message: e?.message ?? String(err), name: e?.name };
      for (const k of ['code', 'detail', 'constraint', 'table', 'column', 'severity']) {
        if (typeof e?.[k] === 'string') error[k] = e[k];
      }
      reply = { id: request.id, ok: false, error };
    }
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
}
