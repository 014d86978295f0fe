/**
 * Warnings on stderr, at most one line per kind every few seconds with a count of what was folded in, so a
 * 50 % failure rate under load stays readable instead of flooding the log.
 */
export interface Logger {
  warn(kind: string, message: string): void;
}

export function createLogger(write: (line: string) => void = (l) => process.stderr.write(l + '\n'), everyMs = 5000): Logger {
  const last = new Map<string, { at: number; folded: number }>();
  return {
    warn(kind, message) {
      const now = Date.now();
      const seen = last.get(kind);
      if (seen && now - seen.at < everyMs) {
        seen.folded++;
        return;
      }
      const more = seen?.folded ? ` (+${seen.folded} more since the last report)` : '';
      last.set(kind, { at: now, folded: 0 });
      write(`target-app: ${message}${more}`);
    },
  };
}

export const silentLogger: Logger = { warn() {} };
