/**
 * Progress on stderr: `[phase] 12.3s — waiting for …`, live req/s during load. On a TTY one line updates in place;
 * otherwise plain lines (a load line every few seconds), so logs and CI stay readable.
 */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly started = Date.now();
  private phaseName = '';
  private phaseStarted = Date.now();
  private lastLine = '';
  private lastPlainTick = 0;
  private timer: NodeJS.Timeout | undefined;
  private prefix = '';
  private detail = '';
  readonly quiet: boolean;

  constructor(stream: ProgressStream = process.stderr, options: { tty?: boolean; quiet?: boolean } = {}) {
    this.stream = stream;
    this.tty = options.tty ?? Boolean(stream.isTTY);
    this.quiet = options.quiet ?? false;
  }

  /** A label shown before the phase, e.g. "stage 2/5 async-db". */
  setPrefix(prefix: string): void {
    this.prefix = prefix;
  }

  get phase(): string {
    return this.phaseName;
  }

  /** The phase with its prefix ("stage 2/5 async-db load"), or '' before the first phase. */
  get label(): string {
    return this.phaseName ? `${this.prefix ? `${this.prefix} ` : ''}${this.phaseName}` : '';
  }

  /** Enter a phase; `detail` says what we are waiting for. */
  enter(phase: string, detail = ''): void {
    this.phaseName = phase;
    this.phaseStarted = Date.now();
    this.detail = detail;
    this.render(true);
    if (this.tty && !this.timer) {
      this.timer = setInterval(() => this.render(false), 500);
      this.timer.unref();
    }
  }

  /** Update what the current phase is waiting for or doing (e.g. live req/s). */
  update(detail: string): void {
    this.detail = detail;
    if (this.tty) this.render(false);
    else if (Date.now() - this.lastPlainTick >= 5000) this.render(true);
  }

  /** A line that stays (notes, results of a phase). */
  log(line: string): void {
    if (this.quiet) return;
    this.clearLine();
    this.stream.write(line + '\n');
    if (this.tty) this.render(false);
  }

  /** A warning a person must see (e.g. compare of two unlike runs): written even when quiet. */
  warn(line: string): void {
    this.clearLine();
    this.stream.write(line + '\n');
    if (this.tty && !this.quiet) this.render(false);
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
  }

  private line(): string {
    const elapsed = ((Date.now() - this.phaseStarted) / 1000).toFixed(1);
    const total = ((Date.now() - this.started) / 1000).toFixed(0);
    const pre = this.prefix ? `${this.prefix} ` : '';
    return `${pre}[${this.phaseName}] ${elapsed}s${this.detail ? ` — ${this.detail}` : ''} (total ${total}s)`;
  }

  private render(plain: boolean): void {
    if (this.quiet || !this.phaseName) return;
    const line = this.line();
    if (this.tty) {
      const width = (this.stream.columns ?? 120) - 1;
      this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.lastLine = line;
    } else if (plain) {
      this.stream.write(line + '\n');
      this.lastPlainTick = Date.now();
    }
  }

  private clearLine(): void {
    if (this.tty && this.lastLine) {
      this.stream.write('\r\x1b[2K');
      this.lastLine = '';
    }
  }
}
