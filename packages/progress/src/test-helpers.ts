// Fixtures for this package's tests (not part of the public surface).
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { type LogEntry, type Plugin, Trainer } from '@tensorloop/core';
import { mnistTensors } from '@tensorloop/test-fixtures';
import type { ProgressStream } from './options.js';

export { mnistTensors };

/** A small dense classifier on real MNIST digits (fast on the cpu backend). */
export function digitTrainer(plugins: Plugin[], entries?: LogEntry[]): Trainer {
  let seed = 11;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  return new Trainer({
    model: tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'hidden',
          inputShape: [784],
          units: 16,
          activation: 'relu',
          kernelInitializer: init(),
        }),
        tf.layers.dense({ name: 'out', units: 10, activation: 'softmax', kernelInitializer: init() }),
      ],
    }),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.adam(3e-3),
    plugins,
    seed: 1,
    log: entries ? (e) => void entries.push(e) : 'silent',
  });
}

/** A stream that collects what is written; `tty` makes it look like a terminal. */
export function captureStream(
  tty: boolean,
  columns = 140,
): ProgressStream & { chunks: string[]; text(): string } {
  const chunks: string[] = [];
  return {
    isTTY: tty,
    columns,
    chunks,
    write(text: string) {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(''),
  };
}

/**
 * What a terminal shows after `output`: a minimal emulator of the control sequences cli-progress
 * and readline write (carriage return, cursor to column, clear line / to the right, save/restore
 * cursor, cursor up/down, clear below, line-wrap and cursor-visibility modes).
 */
export function screen(output: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = () => {
    while (lines.length <= row) lines.push([]);
    return lines[row]!;
  };
  for (let i = 0; i < output.length; i++) {
    const c = output[i]!;
    if (c === '\x1b') {
      const next = output[i + 1];
      if (next === '7') {
        saved = { row, col };
        i += 1;
        continue;
      }
      if (next === '8') {
        ({ row, col } = saved);
        i += 1;
        continue;
      }
      const m = /^\[(\??)(\d*)(?:;(\d*))?([A-Za-z])/.exec(output.slice(i + 1));
      if (!m) continue;
      i += m[0].length;
      const n = m[2] === '' ? undefined : Number(m[2]);
      const cmd = m[4];
      if (m[1] === '?') continue; // modes: line wrap, cursor visibility
      if (cmd === 'G') col = (n ?? 1) - 1;
      else if (cmd === 'K') {
        const l = line();
        if ((n ?? 0) === 0) l.length = Math.min(l.length, col);
        else if (n === 2) l.length = 0;
        else for (let k = 0; k < Math.min(col + 1, l.length); k++) l[k] = ' ';
      } else if (cmd === 'A') row = Math.max(0, row - (n ?? 1));
      else if (cmd === 'B') row += n ?? 1;
      else if (cmd === 'C') col += n ?? 1;
      else if (cmd === 'D') col = Math.max(0, col - (n ?? 1));
      else if (cmd === 'J') {
        line().length = Math.min(line().length, col);
        lines.length = row + 1;
      }
      continue;
    }
    if (c === '\r') {
      col = 0;
      continue;
    }
    if (c === '\n') {
      row += 1;
      col = 0;
      line();
      continue;
    }
    const l = line();
    while (l.length < col) l.push(' ');
    l[col] = c;
    col += 1;
  }
  const out = lines.map((l) => l.join('').trimEnd());
  while (out.length && out.at(-1) === '') out.pop();
  return out;
}

/** `loss 0.3120 · accuracy 0.9021` → `{ loss: 0.312, accuracy: 0.9021 }`. */
export function parseSummary(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of line.split(' · ')) {
    const m = /^([A-Za-z_][\w()]*) (-?[\d.]+(?:e[-+]?\d+)?)$/.exec(part.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * Debian's Chromium (or $CHROMIUM) for the browser tests. Under CI (CI=true) a missing binary is an
 * error: `.ci/run` installs it. Elsewhere the browser tests skip with a line saying why.
 */
export function chromiumPath(): { path: string | undefined; skip: boolean; why: string } {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const found = candidates.find((p) => existsSync(p));
  const ci = process.env.CI === 'true';
  const why = `no Chromium at ${candidates.join(' or ')} (apt-get install -y chromium, or set CHROMIUM=/path)`;
  if (!found && !ci) console.log(`browser tests skipped: ${why}`);
  return { path: found, skip: !found && !ci, why };
}
