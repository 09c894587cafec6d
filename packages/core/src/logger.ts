import type { LogEntry, Logger } from './plugin.js';
import type { Time } from './time.js';

export type LogOption = 'console' | 'silent' | ((entry: LogEntry) => void);

/** One hub for every message of a trainer: plugins write through it, sinks (console, progress, report) read. */
export class LogHub {
  private readonly sinks = new Set<(entry: LogEntry) => void>();
  /** The `log` option's own sink (the console or your function), without subscribers. */
  private readonly primary: ((entry: LogEntry) => void) | undefined;

  constructor(
    option: LogOption,
    private readonly now: () => Time,
  ) {
    if (option === 'console') this.primary = consoleSink;
    else if (typeof option === 'function') this.primary = option;
    if (this.primary) this.sinks.add(this.primary);
  }

  /**
   * A line for the `log` option's sink only (core's epoch line): subscribers (progress bars,
   * reports, loggers) get the epoch's logs as values and would only repeat it.
   */
  print(source: string, message: string): void {
    const sink = this.primary;
    if (!sink) return;
    const entry: LogEntry = { level: 'info', source, message, time: { ...this.now() } };
    try {
      sink(entry);
    } catch {
      consoleSink(entry);
    }
  }

  write(level: LogEntry['level'], source: string, message: string): void {
    const entry: LogEntry = { level, source, message, time: { ...this.now() } };
    for (const sink of this.sinks) {
      try {
        sink(entry);
      } catch {
        // A broken sink must not break training; the console still has the message.
        consoleSink(entry);
      }
    }
  }

  subscribe(sink: (entry: LogEntry) => void): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** A logger that prefixes messages with its owner's name. */
  for(source: string): Logger {
    return {
      debug: (m) => this.write('debug', source, m),
      info: (m) => this.write('info', source, m),
      warn: (m) => this.write('warn', source, m),
      subscribe: (sink) => this.subscribe(sink),
    };
  }
}

function consoleSink(entry: LogEntry): void {
  if (entry.level === 'debug') return;
  const line = `[${entry.source}] ${entry.message}`;
  if (entry.level === 'warn') console.warn(line);
  else console.log(line);
}
