import { epochLabel, type LiveState, liveParts, plainProgressLine } from './format.js';
import type { ProgressStream } from './options.js';

/**
 * How progress reaches the user. The plugin decides what to say; a renderer decides how: a bar
 * redrawn in place on a terminal, or plain lines (CI logs, pipes, browser consoles).
 */
export interface Renderer {
  /** True when a live update at `now` would be shown: only then does the plugin read the device. */
  due(now: number): boolean;
  /** Show the live state of the epoch (a redraw of the bar, or a plain line). */
  live(state: LiveState, now: number): void;
  /** A change of phase inside the epoch (validation): redrawn on a bar, not worth a plain line. */
  status(state: LiveState, now: number): void;
  /** A permanent line, printed above the bar when one is drawn. */
  line(text: string): void;
  /** An epoch begins (a new bar). */
  startEpoch(state: LiveState, now: number): void;
  /** The epoch's bar goes away (its summary follows as a line). */
  endEpoch(): void;
  /** Remove anything drawn; called at the end of every fit. */
  close(): void;
}

/** A stream of lines, one `write` per line. */
export class PlainRenderer implements Renderer {
  private last = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly everyMs: number,
  ) {}

  due(now: number): boolean {
    return now - this.last >= this.everyMs;
  }

  live(state: LiveState, now: number): void {
    this.last = now;
    this.line(plainProgressLine(state));
  }

  status(): void {}

  line(text: string): void {
    this.stream.write(`${text}\n`);
  }

  startEpoch(_state: LiveState, now: number): void {
    this.last = now; // the first plain line comes plainEveryMs into the epoch, not at its start
  }

  endEpoch(): void {}

  close(): void {}
}

/** The parts of `cli-progress` this renderer uses (it is loaded only when a terminal is there). */
export interface CliProgressModule {
  readonly SingleBar: new (options: Record<string, unknown>) => CliBar;
  readonly Format: { readonly BarFormat: (progress: number, options: Record<string, unknown>) => string };
}

export interface CliBar {
  start(total: number, startValue: number, payload?: object): void;
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * A `cli-progress` bar per epoch, redrawn in place. cli-progress owns the terminal work (cursor to
 * column 0, clear to the right, no line wrapping, bar drawing, trimming to the width); the plugin
 * calls `update` at most every `refreshMs`, and cli-progress redraws synchronously then (the
 * training loop gives its timer no chance to run between steps).
 */
export class TerminalRenderer implements Renderer {
  private bar: CliBar | undefined;
  private state: LiveState | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly cli: CliProgressModule,
    private readonly stream: ProgressStream,
    private readonly refreshMs: number,
    private readonly barWidth: number,
  ) {}

  due(now: number): boolean {
    return this.bar !== undefined && now - this.lastDraw >= this.refreshMs;
  }

  private format = (options: Record<string, unknown>, params: { progress: number }): string => {
    const s = this.state;
    if (!s) return '';
    const bar = s.totalSteps === undefined ? '' : `${this.cli.Format.BarFormat(params.progress, options)} `;
    return `${epochLabel(s.epoch, s.epochs)} ${bar}${liveParts(s).join(' · ')}`;
  };

  startEpoch(state: LiveState, now: number): void {
    this.endEpoch();
    this.lastDraw = now;
    this.startBar(state);
  }

  private startBar(state: LiveState): void {
    this.state = state;
    this.bar = new this.cli.SingleBar({
      stream: this.stream,
      format: this.format,
      // A synchronous redraw happens when 2 × (1000 / fps) ms have passed since the last one, so
      // every update the plugin makes (≥ refreshMs apart) is drawn; idle-time timer redraws only
      // write when the text changed.
      fps: Math.max(1, 4000 / Math.max(this.refreshMs, 1)),
      barsize: this.barWidth,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      clearOnComplete: true,
      hideCursor: false,
      linewrap: false,
      emptyOnZero: true,
      gracefulExit: false,
    });
    this.bar.start(state.totalSteps ?? 0, state.steps);
  }

  live(state: LiveState, now: number): void {
    if (!this.bar) return;
    this.state = state;
    this.lastDraw = now;
    if (state.totalSteps !== undefined) this.bar.setTotal(state.totalSteps);
    this.bar.update(state.steps);
  }

  status(state: LiveState, now: number): void {
    this.live(state, now);
  }

  line(text: string): void {
    const state = this.bar ? this.state : undefined;
    // Take the bar down (its line is cleared), print, and put it back below: the bar never shares
    // a line with text, and cli-progress's saved cursor position stays on the bar's own line.
    this.endEpoch();
    this.stream.write(`${text}\n`);
    if (state) this.startBar(state);
  }

  endEpoch(): void {
    if (!this.bar) return;
    this.bar.stop(); // clearOnComplete: the line is cleared, the cursor stays at column 0
    this.bar = undefined;
    this.state = undefined;
  }

  close(): void {
    this.endEpoch();
  }
}

/** `console.log` as a stream of lines (the browser default). */
export function consoleStream(): ProgressStream {
  return {
    write(text: string) {
      const line = text.endsWith('\n') ? text.slice(0, -1) : text;
      console.log(line);
    },
  };
}
