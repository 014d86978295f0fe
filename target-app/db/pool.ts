/** Sizing the connection pool of the pooled stages for this machine. */
import { availableParallelism } from 'node:os';

/**
 * Connections per process: about 4 per core for the whole machine (PostgreSQL's own rule of thumb is
 * cores × 2 + disks, and the app's queries also wait on the network), shared by the WORKERS processes, at least 2.
 */
export function poolSizeFor(workers: number, override?: number): number {
  if (override && override > 0) return override;
  return Math.max(2, Math.ceil((availableParallelism() * 4) / Math.max(1, workers)));
}
