import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  checkpoint,
  checkpointExists,
  definePlugin,
  readCheckpointJson,
  stop,
  type TrainerCheckpointJson,
} from '@tensorloop/core';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { defineLogger, type LoggerEnd, type LoggerEpoch, type LoggerMessage } from './define-logger.js';
import { failAt, smallData, smallTrainer, tempDir, warnings } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let tmp: Awaited<ReturnType<typeof tempDir>>;
let data: ReturnType<typeof smallData>;
beforeEach(async () => {
  tmp = await tempDir();
  data = smallData();
});
afterEach(async () => {
  data.dispose();
  await tmp.cleanup();
});

/** A tracker in a few lines, as a third party would write one (a W&B or MLflow client in real life). */
function tracker(options: { failOnEpoch?: number; failState?: boolean; badSink?: boolean } = {}) {
  const calls: string[] = [];
  const epochs: LoggerEpoch[] = [];
  const messages: LoggerMessage[] = [];
  const ends: LoggerEnd[] = [];
  let runId: string | undefined;
  const plugin = defineLogger({
    name: 'acme-tracker',
    // (state and parseState before onStart, so TypeScript infers the shape of start.saved from them)
    state() {
      if (options.failState) throw new Error('state broke');
      return { runId: runId ?? null };
    },
    parseState(saved) {
      const s = saved as { runId: string | null };
      if (options.badSink) throw new Error('not a tracker run id');
      if (typeof s?.runId !== 'string' && s?.runId !== null) throw new Error('bad tracker state');
      return s;
    },
    onStart(_ctx, start) {
      runId = start.saved?.runId ?? `run-${start.fitIndex}`;
      calls.push(`start ${runId}${start.resumed ? ' resumed' : ''}`);
    },
    onEpoch(_ctx, e) {
      if (e.epoch === options.failOnEpoch) throw new Error('tracker is down (HTTP 503)');
      calls.push(`epoch ${e.epoch}${e.replayed ? ' replayed' : ''}`);
      epochs.push(e);
    },
    onMessages: (_ctx, m) => void messages.push(...m),
    flush: () => void calls.push('flush'),
    onEnd(_ctx, end) {
      calls.push(`end ${end.reason}`);
      ends.push(end);
    },
  });
  return { plugin, calls, epochs, messages, ends };
}

describe('defineLogger', () => {
  test('a tracker gets each epoch split as Keras does, with hyperparameters; start, flush and end once', async () => {
    const t = tracker();
    const talker = definePlugin({ name: 'test:talker', onEpochEnd: (ctx) => ctx.logger.info('hello') });
    const { trainer } = smallTrainer([talker, t.plugin]);
    const { history } = await trainer.fit(data.train, { epochs: 2, batchSize: 8, validationData: data.val });
    expect(t.calls).toEqual(['start run-0', 'epoch 0', 'epoch 1', 'flush', 'end completed']);
    expect(t.epochs[1]).toMatchObject({
      epoch: 1,
      step: 12,
      train: { loss: history[1]!.logs.loss, accuracy: history[1]!.logs.accuracy },
      validation: { loss: history[1]!.logs.val_loss, accuracy: history[1]!.logs.val_accuracy },
      hparams: { lr: 0.1 },
      partial: false,
      replayed: false,
    });
    expect(t.messages.map((m) => [m.source, m.message, m.epoch])).toEqual([
      ['test:talker', 'hello', 0],
      ['test:talker', 'hello', 1],
    ]);
  });

  test('closes exactly once on every ending: a stop, an exception, a failing onFitEnd of another plugin', async () => {
    const stopped = tracker();
    const stopper = definePlugin({
      name: 'test:stop',
      onEpochEnd: (_c, e) => (e.epoch === 0 ? stop('done') : undefined),
    });
    await smallTrainer([stopper, stopped.plugin]).trainer.fit(data.train, { epochs: 3, batchSize: 8 });
    expect(stopped.calls).toEqual(['start run-0', 'epoch 0', 'flush', 'end stopped']);
    expect(stopped.ends[0]!.stopReason?.message).toBe('done');

    const crashed = tracker();
    await expect(
      smallTrainer([crashed.plugin, failAt(1)]).trainer.fit(data.train, { epochs: 3, batchSize: 8 }),
    ).rejects.toThrow(/simulated crash/);
    expect(crashed.calls).toEqual(['start run-0', 'epoch 0', 'epoch 1', 'flush', 'end error']);
    expect(crashed.ends[0]!.error?.code).toBe('TL_HOOK_FAILED');

    const badEnd = tracker();
    const breaksFitEnd = definePlugin({
      name: 'test:bad-fit-end',
      onFitEnd() {
        throw new Error('export failed');
      },
    });
    await expect(
      smallTrainer([breaksFitEnd, badEnd.plugin]).trainer.fit(data.train, { epochs: 1, batchSize: 8 }),
    ).rejects.toThrow(/export failed/);
    // Another plugin's failing onFitEnd does not keep this one's from running: the fit had completed.
    expect(badEnd.calls).toEqual(['start run-0', 'epoch 0', 'flush', 'end completed']);
  });

  test('a failing logger warns once, training and checkpoints go on; the resumed run replays what it missed', async () => {
    const ckpt = join(tmp.dir, 'ckpt');
    const t = tracker({ failOnEpoch: 1 });
    const first = smallTrainer([t.plugin, checkpoint({ dir: ckpt }), failAt(2)]);
    await expect(first.trainer.fit(data.train, { epochs: 4, batchSize: 8 })).rejects.toThrow(
      /simulated crash/,
    );
    expect(t.calls).toEqual(['start run-0', 'epoch 0', 'end error']); // no flush after the failure
    expect(warnings(first.entries, 'acme-tracker')).toEqual([
      'recording epoch 1 failed (tracker is down (HTTP 503)). This logger records nothing more in this fit; training goes on, and checkpoints keep its last good state.',
    ]);
    expect(t.ends[0]!.failure).toBe('recording epoch 1: tracker is down (HTTP 503)');
    const saved = (await readCheckpointJson(join(ckpt, 'last'), 'trainer.json')) as TrainerCheckpointJson;
    expect(saved.plugins['acme-tracker']?.state).toEqual({
      format: 'tensorloop-logger@1',
      epoch: 0,
      step: null,
      missed: [
        [1, 12],
        [2, 18],
      ],
      sink: { runId: 'run-0' },
    });

    const again = tracker();
    await smallTrainer([again.plugin, checkpoint({ dir: ckpt })]).trainer.fit(data.train, {
      epochs: 4,
      batchSize: 8,
      resumeFrom: join(ckpt, 'last'),
    });
    // The checkpoint was taken after epoch 2; epochs 1 and 2 never reached the tracker: replayed from history.
    expect(again.calls).toEqual([
      'start run-0 resumed',
      'epoch 1 replayed',
      'epoch 2 replayed',
      'epoch 3',
      'flush',
      'end completed',
    ]);
    expect(again.epochs.map((e) => [e.epoch, e.step])).toEqual([
      [1, 12],
      [2, 18],
      [3, 24],
    ]);
  });

  test('a state() that throws never breaks a checkpoint; a malformed saved state is refused, naming the logger', async () => {
    const ckpt = join(tmp.dir, 'ckpt');
    const t = tracker({ failState: true });
    await smallTrainer([t.plugin, checkpoint({ dir: ckpt })]).trainer.fit(data.train, {
      epochs: 1,
      batchSize: 8,
    });
    expect(await checkpointExists(join(ckpt, 'last'))).toBe(true);
    expect(
      ((await readCheckpointJson(join(ckpt, 'last'), 'trainer.json')) as TrainerCheckpointJson).plugins[
        'acme-tracker'
      ]?.state,
    ).toMatchObject({ epoch: 0, sink: null });

    const junk = tracker();
    expect(() => junk.plugin.parseState!({ format: 'something else' }, undefined)).toThrow(
      /TL_CHECKPOINT_INVALID.*\[acme-tracker\] the checkpoint's state is not what this logger writes: expected \{ format/,
    );
    expect(() => junk.plugin.loadState!({ format: 'something else' } as never, undefined, {})).toThrow(
      /TL_CHECKPOINT_INVALID/,
    );
    // Through a checkpoint: refused before anything is restored, and the fit does not start.
    const good = join(tmp.dir, 'ckpt-good');
    await smallTrainer([tracker().plugin, checkpoint({ dir: good })]).trainer.fit(data.train, {
      epochs: 1,
      batchSize: 8,
    });
    const bad = tracker({ badSink: true });
    await expect(
      smallTrainer([bad.plugin]).trainer.fit(data.train, {
        epochs: 2,
        batchSize: 8,
        resumeFrom: join(good, 'last'),
      }),
    ).rejects.toThrow(/TL_CHECKPOINT_INVALID[\s\S]*acme-tracker[\s\S]*not a tracker run id/);
    expect(bad.calls).toEqual([]);
  });

  test('a checkpoint taken before the logger saw the epoch is caught up on resume', async () => {
    const ckpt = join(tmp.dir, 'early-saver');
    // Saves in onEpochEnd before the logger runs (a post plugin registered earlier, not named 'checkpoint').
    const earlySaver = definePlugin({
      name: 'test:early-saver',
      enforce: 'post',
      before: ['acme-tracker'],
      onEpochEnd: (ctx, e) => (e.epoch === 1 ? ctx.save(ckpt) : undefined),
    });
    const t = tracker();
    await smallTrainer([earlySaver, t.plugin]).trainer.fit(data.train, { epochs: 3, batchSize: 8 });
    const again = tracker();
    await smallTrainer([again.plugin]).trainer.fit(data.train, { epochs: 3, batchSize: 8, resumeFrom: ckpt });
    expect(again.calls.slice(0, 3)).toEqual(['start run-0 resumed', 'epoch 1 replayed', 'epoch 2']);
    expect(again.epochs.map((e) => e.step)).toEqual([12, 18]); // the step of the checkpoint's epoch is known
  });

  test('options are checked', () => {
    expect(() => defineLogger({ name: '' })).toThrow(/name must be a non-empty string/);
    expect(() => defineLogger({ name: 'x', updateFreq: -1 })).toThrow(/TL_OPTION_INVALID.*updateFreq/);
  });
});
