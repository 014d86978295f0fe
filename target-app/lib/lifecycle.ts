/**
 * How target-app's processes end: on SIGINT/SIGTERM, when their parent dies (however it died), and when the IPC
 * channel to a cluster primary closes. `close` runs once; the process exits 0 when it is done, or after `graceMs`
 * whatever it is still doing, so a stuck socket never keeps an orphan running.
 */
export function exitOnShutdown(close: (reason: string) => Promise<void>, options: { graceMs?: number } = {}): void {
  const graceMs = options.graceMs ?? 4000;
  let closing = false;
  const shutdown = (reason: string) => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), graceMs).unref();
    close(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown (${reason}) failed: ${(err as Error)?.message ?? err}\n`);
        process.exit(0);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  if (process.connected) process.once('disconnect', () => shutdown('parent disconnected'));
  // A parent killed with SIGKILL sends nothing: notice that we were re-parented.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown('parent exited');
  }, 500).unref();
}
