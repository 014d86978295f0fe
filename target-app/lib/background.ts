/**
 * Work the client need not wait for (FastAPI's BackgroundTasks): started now, finished after the response.
 * Bounded — past `maxInFlight` running tasks new ones are dropped and counted rather than piling up without limit —
 * and safe: a task that fails is logged and counted, never an unhandled rejection.
 */
import type { Logger } from './log.js';

export interface BackgroundStats {
  running: number;
  done: number;
  failed: number;
  dropped: number;
}

export class BackgroundWork {
  readonly #maxInFlight: number;
  readonly #log: Logger;
  readonly #stats: BackgroundStats = { running: 0, done: 0, failed: 0, dropped: 0 };
  readonly #idle = new Set<() => void>();

  constructor(options: { log: Logger; maxInFlight?: number }) {
    this.#log = options.log;
    this.#maxInFlight = options.maxInFlight ?? 256;
  }

  /** Starts `task` unless too many are running; returns whether it started. */
  run(name: string, task: () => Promise<unknown>): boolean {
    if (this.#stats.running >= this.#maxInFlight) {
      this.#stats.dropped++;
      this.#log.warn(`background-dropped`, `background work "${name}" dropped: ${this.#maxInFlight} tasks already running`);
      return false;
    }
    this.#stats.running++;
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(task());
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise
      .then(
        () => {
          this.#stats.done++;
        },
        (err: unknown) => {
          this.#stats.failed++;
          this.#log.warn(`background-failed:${name}`, `background work "${name}" failed: ${(err as Error)?.message ?? err}`);
        },
      )
      .finally(() => {
        this.#stats.running--;
        if (this.#stats.running === 0) for (const resolve of this.#idle) resolve();
      });
    return true;
  }

  stats(): BackgroundStats {
    return { ...this.#stats };
  }

  /** Waits until nothing is running, or `timeoutMs` has passed. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#stats.running === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#idle.add(done);
    });
  }
}
