/**
 * What a stage is: one module exporting one `Stage`. Every stage answers the same requests with the same JSON;
 * they differ only in how they get there. Adding a stage = a new module + one line in ./index.ts.
 */
import type { BackgroundStats } from '../lib/background.js';
import type { Logger } from '../lib/log.js';
import type { Like, NewPost, Notification, Post } from '../model.js';
import type { UpstreamCallStats } from '../upstream/client.js';
import type { CacheStats } from '../cache.js';
import type { DbTimeouts } from '../db/timeouts.js';

export interface StageContext {
  databaseUrl: string;
  redisUrl: string;
  /** Base URL of the external services (image upload, notification, search indexing). */
  upstreamUrl: string;
  /** Processes serving the app on this machine (WORKERS), for sizing per-process pools. */
  workers: number;
  log: Logger;
  /** Connection pool size override (PG_POOL_MAX), for the stages that pool. */
  poolMax?: number;
  upstreamTimeoutMs?: number;
  /** The waits for PostgreSQL (db/timeouts.ts; its defaults when absent). */
  dbTimeouts?: DbTimeouts;
}

export interface StageStats {
  /** Statements sent to PostgreSQL and connections opened since start. */
  db: { queries: number; connections: number };
  upstream: UpstreamCallStats;
  background?: BackgroundStats;
  cache?: CacheStats;
}

/** A started stage: the four operations behind the API's routes, plus its counters and its shutdown. */
export interface RunningStage {
  /** Newest posts of the user and of the users they follow. NotFoundError for an unknown user. */
  getTimeline(userId: number, limit: number): Promise<Post[]>;
  /** Stores the post (answered once stored), then calls the external services. NotFoundError for an unknown user. */
  createPost(input: NewPost): Promise<Post>;
  /** Newest notifications of the user. NotFoundError for an unknown user. */
  getNotifications(userId: number, limit: number): Promise<Notification[]>;
  /** Likes a post (idempotent) and notifies its author. NotFoundError for an unknown post or user. */
  likePost(postId: number, userId: number): Promise<Like>;
  stats(): StageStats;
  /** Releases connections, pools and background work. */
  close(): Promise<void>;
}

export interface Stage {
  name: string;
  /** One line: what this stage changes compared with the previous one. */
  summary: string;
  start(context: StageContext): Promise<RunningStage>;
}
