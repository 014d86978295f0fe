/**
 * A TypeScript service compiled with tsc (source maps on) and run as JavaScript from dist/: GET /quote/:id blocks the
 * loop in priceBasket (src/pricing.ts); GET /health answers at once. Listens on $PORT and prints "listening <port>".
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basketFor, priceBasket } from './pricing.js';

const ROUNDS = Number(process.env.ROUNDS) || 1500;

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const quote = /^\/quote\/(\d+)$/.exec(url);
  if (quote) {
    const total = priceBasket(basketFor(Number(quote[1])), ROUNDS);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: Number(quote[1]), total }));
  } else if (url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  } else {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","message":"no such route"}');
  }
});

server.listen(Number(process.env.PORT) || 3000, process.env.HOST || '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
