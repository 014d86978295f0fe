/** One thread of the offload pool: runs the blocking call, so only this thread waits. */
import { parentPort } from 'node:worker_threads';
import { closeHttpSync, httpGetSync } from './http-sync.js';

parentPort!.on('message', (job: { id: number; url: string; timeoutMs: number } | 'close') => {
  if (job === 'close') {
    void closeHttpSync().then(() => parentPort!.close());
    return;
  }
  try {
    parentPort!.postMessage({ id: job.id, ok: true, value: httpGetSync(job.url, job.timeoutMs) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, message: (err as Error).message });
  }
});
