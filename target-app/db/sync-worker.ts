/**
 * The worker behind the synchronous PostgreSQL client: plain async `pg`, one client per synchronous connection.
 * It never blocks; the thread that asked is the one waiting (see sync-client.ts).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { serveBridge, type BridgeRequest } from '../lib/blocking-bridge.js';
import { pgTimeoutOptions, type DbTimeouts } from './timeouts.js';

const clients = new Map<number, pg.Client>();

serveBridge(workerData as { port: MessagePort; signal: Int32Array }, async (req: BridgeRequest) => {
  const conn = req.conn as number;
  switch (req.op) {
    case 'connect': {
      const client = new pg.Client({ connectionString: req.url as string, ...pgTimeoutOptions(req.timeouts as DbTimeouts) });
      client.on('error', () => clients.delete(conn));
      await client.connect();
      clients.set(conn, client);
      return null;
    }
    case 'query': {
      const client = clients.get(conn);
      if (!client) throw Object.assign(new Error('the connection is closed'), { code: '08003' });
      const res = await client.query({ text: req.text as string, values: req.values as unknown[] | undefined });
      return { rows: res.rows, rowCount: res.rowCount, command: res.command };
    }
    case 'end': {
      const client = clients.get(conn);
      clients.delete(conn);
      await client?.end(); // after a query timeout pg destroys the socket here rather than wait for a frozen server
      return null;
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
});
