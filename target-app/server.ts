/**
 * The API: routes and JSON schemas, shared by every stage — the stage decides how each answer is computed, never
 * what it looks like. Routes are registered as templates (/users/:id/timeline), so traces carry the template as
 * http.route.
 *
 *   GET  /users/:id/timeline?limit=20        → 200 {posts: Post[]}             (limit 1–100)
 *   POST /posts {userId, content, imageUrl?} → 201 Post                        (content 1–280 characters)
 *   GET  /users/:id/notifications?limit=50   → 200 {notifications: Notification[]} (limit 1–200)
 *   POST /posts/:id/likes {userId}           → 201 Like                        (idempotent)
 *   GET  /health                             → 200 {ok, stage}
 *   GET  /stats                              → 200 {stage, pid, requests, db, upstream, background?, cache?, blockingIo}
 *   GET  /blocking-io/{sync,offloaded,async}?ms=50, GET /blocking-io?ms=50 (BLOCKING_IO_MODE; see blocking-io/routes.ts)
 * Bad input gets 400 (validation, a body that is not UTF-8, malformed HTTP), 404 (unknown user, post or route), 413,
 * 414, 415 or 431, always as {error, message}; the database unreachable, restarting or not answering in time
 * (db/timeouts.ts), 503 with Retry-After.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Ajv, type Options as AjvOptions } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { blockingIoRoutes, type BlockingIoStatsRef, type Mode as BlockingIoMode } from './blocking-io/routes.js';
import { isUnreachable } from './db/connection.js';
import { isDbTimeout } from './db/timeouts.js';
import { HttpError } from './errors.js';
import type { Logger } from './lib/log.js';
import type { NewPost } from './model.js';
import {
  errorBody,
  idParams,
  like,
  likeBody,
  limitQuery,
  newPostBody,
  notificationsResponse,
  post,
  timelineResponse,
} from './schemas.js';
import type { RunningStage } from './stages/types.js';

export interface AppOptions {
  stage: RunningStage;
  stageName: string;
  /** For the blocking-io routes' slow upstream call. */
  upstreamUrl: string;
  log: Logger;
  blockingPoolSize?: number;
  /** How GET /blocking-io makes its call (default async). */
  blockingIoMode?: BlockingIoMode;
}

const ajvBase: AjvOptions = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false };
/** Bodies: JSON has types, so no coercion — `"userId": "5"` or `true` is a 400, not user 5 or user 1. */
const bodyAjv = new Ajv({ ...ajvBase, coerceTypes: false });
/** Path and query strings are text: "42" becomes 42, "abc" fails. */
const urlAjv = new Ajv({ ...ajvBase, coerceTypes: 'array' });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const errorResponses = { '4xx': errorBody, '5xx': errorBody } as const;

/** PostgreSQL error codes meaning "the database cannot take this now", not "the request is wrong". */
const DB_OVERLOADED = new Set(['53300', '53400', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);

/**
 * pg's errors without a code for a connection that died under a query (the server restarted or crashed): the
 * database is gone for now, the request was fine — a 503 the client may retry, not a 500.
 */
function connectionLost(err: { code?: string; message?: string }): boolean {
  return !err.code && /^Connection terminated|^Client has encountered a connection error/.test(err.message ?? '');
}

function errorReply(err: FastifyError & { code?: string }, log: Logger): { status: number; body: { error: string; message: string } } {
  if (err.validation) return { status: 400, body: { error: 'Bad Request', message: err.message } };
  if (err instanceof HttpError) return { status: err.statusCode, body: { error: err.error, message: err.message } };
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, body: { error: STATUS_CODES[status] ?? 'Bad Request', message: err.message } };
  if ((err.code && DB_OVERLOADED.has(err.code)) || isUnreachable(err) || connectionLost(err) || isDbTimeout(err)) {
    log.warn('db-unavailable', `database unavailable: ${err.message}`);
    return { status: 503, body: { error: 'Service Unavailable', message: 'the database cannot take this request now; retry shortly' } };
  }
  log.warn('internal', `unexpected error: ${err.stack ?? err.message}`);
  return { status: 500, body: { error: 'Internal Server Error', message: 'unexpected error' } };
}

/**
 * Node's HTTP parser refused the request (malformed, or headers over 16 KB). Fastify's default answers this too, but
 * without `Connection: close` before destroying the socket, so a keep-alive client sent its next request into a
 * closed connection (ECONNRESET). Same answer, in the API's {error, message} shape, saying the connection closes.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'the request headers are larger than 16 KB' : status === 408 ? 'the request did not arrive in time' : 'malformed HTTP request';
  const body = JSON.stringify({ error: STATUS_CODES[status], message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { stage, stageName, log } = options;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, clientErrorHandler });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : urlAjv).compile(schema));

  // JSON bodies must be valid UTF-8: Fastify's own parser decodes leniently, so stray bytes became U+FFFD and a
  // post was stored with content the client never sent. Refuse them (400); the rest is Fastify's parser as before.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      return done(new HttpError(400, 'Bad Request', 'the body is not valid UTF-8'), undefined);
    }
    parseJson(req, text, done);
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const { status, body } = errorReply(err, log);
    if (status === 503) reply.header('retry-after', '1'); // the database is restarting or saturated: retry shortly
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  let requests = 0;
  app.addHook('onResponse', async (req) => {
    if (req.routeOptions.url !== '/stats') requests++;
  });

  app.get('/health', async () => ({ ok: true, stage: stageName }));
  const blockingIo: BlockingIoStatsRef = {};
  app.get('/stats', async () => ({ stage: stageName, pid: process.pid, requests, ...stage.stats(), ...(blockingIo.get ? { blockingIo: blockingIo.get() } : {}) }));

  app.get<{ Params: { id: number }; Querystring: { limit: number } }>(
    '/users/:id/timeline',
    { schema: { params: idParams, querystring: limitQuery(20, 100), response: { 200: timelineResponse, ...errorResponses } } },
    async (req) => ({ posts: await stage.getTimeline(req.params.id, req.query.limit) }),
  );

  app.post<{ Body: NewPost }>('/posts', { schema: { body: newPostBody, response: { 201: post, ...errorResponses } } }, async (req, reply) => {
    const created = await stage.createPost(req.body);
    return reply.code(201).send(created);
  });

  app.get<{ Params: { id: number }; Querystring: { limit: number } }>(
    '/users/:id/notifications',
    { schema: { params: idParams, querystring: limitQuery(50, 200), response: { 200: notificationsResponse, ...errorResponses } } },
    async (req) => ({ notifications: await stage.getNotifications(req.params.id, req.query.limit) }),
  );

  app.post<{ Params: { id: number }; Body: { userId: number } }>(
    '/posts/:id/likes',
    { schema: { params: idParams, body: likeBody, response: { 201: like, ...errorResponses } } },
    async (req, reply) => {
      const liked = await stage.likePost(req.params.id, req.body.userId);
      return reply.code(201).send(liked);
    },
  );

  await app.register(blockingIoRoutes, { upstreamUrl: options.upstreamUrl, poolSize: options.blockingPoolSize, mode: options.blockingIoMode, stats: blockingIo });
  return app;
}
