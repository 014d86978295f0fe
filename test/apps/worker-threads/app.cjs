// A node:http app that hands CPU work to a worker thread (crunch-worker.cjs): GET /crunch posts a task of CRUNCH_MS
// (default 30) ms and answers when the worker is done; GET /clean answers at once. The worker blocks its own loop in
// looplensFixtureCrunch, never the main thread's. Listens on $PORT.
const http = require('node:http');
const { join } = require('node:path');
const { Worker } = require('node:worker_threads');

const CRUNCH_MS = Number(process.env.CRUNCH_MS ?? 30);
const worker = new Worker(join(__dirname, 'crunch-worker.cjs'));
const pending = new Map();
let next = 0;
worker.on('message', ({ id }) => {
  pending.get(id)?.();
  pending.delete(id);
});

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/crunch') {
    const id = ++next;
    pending.set(id, () => res.end(JSON.stringify({ ok: true, id })));
    worker.postMessage({ id, ms: CRUNCH_MS });
    return;
  }
  res.end(JSON.stringify({ ok: true }));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGINT', () => {
  server.close();
  worker.terminate().then(() => process.exit(0));
});
