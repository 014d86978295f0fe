/**
 * A synchronous HTTP GET — the Node counterpart of Python's requests.get(): it returns only when the answer is
 * in, and the calling thread does nothing else meanwhile (lib/blocking-bridge.ts). Called on the main thread it
 * stops the event loop; called in a worker (offload.ts) it stops only that worker.
 */
import { BlockingBridge } from '../lib/blocking-bridge.js';

let bridge: BlockingBridge | null = null;

export interface SyncHttpResponse {
  status: number;
  body: string;
}

export function httpGetSync(url: string, timeoutMs = 10_000): SyncHttpResponse {
  bridge ??= new BlockingBridge(import.meta.url, 'http-worker');
  return bridge.callSync<SyncHttpResponse>({ op: 'get', url, timeoutMs }, timeoutMs + 1000);
}

export async function closeHttpSync(): Promise<void> {
  const b = bridge;
  bridge = null;
  await b?.close();
}
