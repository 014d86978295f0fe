/** The worker behind httpGetSync: a plain async fetch; the thread that asked is the one waiting. */
import { workerData, type MessagePort } from 'node:worker_threads';
import { serveBridge } from '../lib/blocking-bridge.js';

serveBridge(workerData as { port: MessagePort; signal: Int32Array }, async (req) => {
  const res = await fetch(req.url as string, { signal: AbortSignal.timeout(req.timeoutMs as number) });
  return { status: res.status, body: await res.text() };
});
