import {
  type AnyOptimizer,
  type DataInput,
  definePlugin,
  type FitOptions,
  type FitResult,
  type Plugin,
  readCheckpointJson,
  stop,
  TensorloopError,
  type Trainer,
  type TrainerContext,
} from '@tensorloop/core';
import {
  evaluateStreams,
  layoutOf,
  type ResolvedEvaluation,
  resolveEvaluation,
  sameLayout,
} from './evaluation.js';
import { META_TRAINER } from './names.js';
import { StageOptimizers } from './optimizers.js';
import { buildMatrices, buildResults, publishedBy } from './results.js';
import {
  type CheckedStage,
  checkStagePlugins,
  checkStages,
  checkTrainsSomething,
  defaultStageName,
} from './stages.js';
import { initialState, type MetaTrainerState, parseMetaState } from './state.js';
import type {
  MetaFitOptions,
  MetaResults,
  MetaRunResult,
  MetaTrainerApi,
  MetaTrainerOptions,
  RunOptions,
  RunStopReason,
  StageOptimizer,
  StageResult,
  StageSpec,
} from './types.js';

const fail = (code: 'TL_OPTION_INVALID' | 'TL_CHECKPOINT_INVALID' | 'TL_FIT_CONCURRENT', message: string) =>
  new TensorloopError(code, `[${META_TRAINER}] ${message}`, { plugin: META_TRAINER });

/** What a checkpoint says about the run before it is applied (to set up its stage first). */
interface SavedRun {
  readonly state: MetaTrainerState;
  /** The checkpoint was taken inside a fit (the next fit continues it). */
  readonly inFit: boolean;
}

async function readSavedRun(dir: string): Promise<SavedRun> {
  const json = (await readCheckpointJson(dir, 'trainer.json')) as {
    plugins?: Record<string, { state?: unknown }>;
    fit?: unknown;
  };
  const saved = json?.plugins?.[META_TRAINER];
  if (!saved) {
    throw fail(
      'TL_CHECKPOINT_INVALID',
      `${dir} holds no meta-trainer state: it was not written during a MetaTrainer run. Resume it with trainer.fit(data, { resumeFrom }) instead.`,
    );
  }
  return { state: parseMetaState(saved.state), inFit: json.fit !== undefined && json.fit !== null };
}

/**
 * Multi-stage training around a `Trainer` (Lightning #5314's MetaTrainer): stages with their own
 * data, epochs, optimizer and plugins, one time that continues across them (`time.stage` and the
 * stage counters), stage plugins that see only their stage, and continual-learning evaluation after
 * each stage (accuracy matrix, forgetting, backward and forward transfer, Avalanche's definitions).
 */
export class MetaTrainer {
  readonly trainer: Trainer;
  private state: MetaTrainerState = initialState();
  private evaluation: ResolvedEvaluation | undefined;
  private readonly stagePlugins: Readonly<Record<number, readonly Plugin[]>>;
  private readonly optimizers: StageOptimizers;
  private readonly ctx: TrainerContext;
  private readonly removeSelf: () => void;
  private removeStagePlugins: (() => void) | undefined;
  /** Stages planned by `run()`. */
  private planned: number | undefined;
  /** A stage restored by `resumeFrom` whose start the next `fit` announces. */
  private announceResumed = false;
  /** The last `tick()`, which the next call waits for (it need not be awaited). */
  private pending: Promise<void> | undefined;
  private pendingError: { error: unknown } | undefined;
  /** `tick()` calls whose stage has not ended yet: `meta.stage` counts them at once. */
  private queuedTicks = 0;
  private busy = false;

  constructor(trainer: Trainer, options: MetaTrainerOptions = {}) {
    this.trainer = trainer;
    this.stagePlugins = checkStagePlugins(options.stagePlugins);
    this.evaluation = resolveEvaluation(options.evaluate);
    this.optimizers = new StageOptimizers(trainer);
    this.removeSelf = trainer.addPlugins([this.plugin()]);
    this.ctx = trainer.contextFor(META_TRAINER);
  }

  /** The current stage's index (after `tick()`: the next stage's). */
  get stage(): number {
    return this.state.stage + this.queuedTicks;
  }

  /** The current stage's name, once it started. */
  get stageName(): string | undefined {
    return this.queuedTicks > 0 ? undefined : (this.state.stageName ?? undefined);
  }

  /** The accuracy matrices, latest metrics, series and summaries so far. */
  results(): MetaResults {
    return buildResults(this.state.layout, this.state.evaluations);
  }

  /**
   * Train the current stage (imperative API). Its first fit starts the stage: the initial evaluation
   * when asked and none was made, the stage's optimizer and `stagePlugins[stage]`, `meta:stageStart`.
   * Call `tick()` to end the stage.
   */
  async fit(data: DataInput, options: MetaFitOptions): Promise<FitResult> {
    return this.exclusive(async () => {
      const { optimizer, name, ...fit } = options ?? ({} as MetaFitOptions);
      if ((fit as FitOptions).resumeFrom !== undefined) {
        throw fail(
          'TL_OPTION_INVALID',
          'meta.fit() takes no resumeFrom: call await meta.resumeFrom(dir) first.',
        );
      }
      const index = this.state.stage;
      checkTrainsSomething(index, this.state.stageName ?? name ?? defaultStageName(index), fit);
      if (!this.state.inStage) {
        await this.initialEvaluation();
        await this.beginStage(index, {
          name: name ?? defaultStageName(index),
          plugins: this.stagePlugins[index] ?? [],
          optimizer,
          epochs: fit.epochs,
          data,
        });
      } else {
        if (this.announceResumed) await this.announceStart(data, fit.epochs, true);
        this.optimizers.apply(optimizer);
      }
      return this.stageFit(data, fit);
    });
  }

  /**
   * End the current stage: its evaluation (when configured), `meta:stageEnd`, its plugins removed;
   * `meta.stage` moves to the next at once. Awaiting is optional: the next call waits for it (and
   * throws what it threw).
   */
  tick(): Promise<void> {
    this.queuedTicks += 1;
    let ended = false;
    const done = this.exclusive(async () => {
      await this.endStage(() => {
        ended = true;
        this.queuedTicks -= 1;
      });
    }).finally(() => {
      if (!ended) this.queuedTicks -= 1;
    });
    this.pending = done.then(
      () => undefined,
      (error: unknown) => {
        this.pendingError = { error };
      },
    );
    return done;
  }

  /**
   * Run stages one after the other (declarative API): each with its data, epochs, optimizer and
   * plugins; evaluation after each (and before the first with `at: 'init-and-each-stage'`).
   * `resumeFrom` continues a run from a checkpoint written during it, mid-stage or between stages.
   */
  async run(stages: readonly StageSpec[], options: RunOptions = {}): Promise<MetaRunResult> {
    return this.exclusive(async () => {
      const checked = checkStages(stages, this.stagePlugins);
      if (options.evaluate !== undefined) this.evaluation = resolveEvaluation(options.evaluate);
      this.checkStagePluginsFit(checked);
      this.planned = checked.length;
      const done: StageResult[] = [];
      let next: number;
      if (options.resumeFrom !== undefined) {
        next = await this.resumeRun(checked, options.resumeFrom, done);
      } else {
        if (this.state.stage !== 0 || this.state.inStage || this.state.evaluations.length > 0) {
          throw fail(
            'TL_OPTION_INVALID',
            `run() starts a run from stage 0, but this MetaTrainer is at stage ${this.state.stage}${this.state.inStage ? ' (inside it)' : ''}. Use a new MetaTrainer, or resumeFrom a checkpoint of the run.`,
          );
        }
        await this.initialEvaluation();
        next = 0;
      }
      for (let i = next; i < checked.length && !this.state.runStop; i++) {
        const stage = checked[i]!;
        await this.beginStage(i, {
          name: stage.name,
          plugins: stage.plugins,
          optimizer: stage.spec.optimizer,
          epochs: stage.spec.epochs,
          data: stage.spec.data,
        });
        await this.stageFit(stage.spec.data, { ...stage.fit, epochs: stage.spec.epochs });
        done.push(await this.endStage());
      }
      return {
        stages: done,
        stopReason: this.runStopReason(done),
        results: this.results(),
        time: { ...this.trainer.time },
      };
    });
  }

  /**
   * Imperative API: apply a checkpoint written during a run (the stage's `stagePlugins` are added
   * first, so their state comes back). Then `meta.stage` says where you are, and the next
   * `meta.fit(data, { epochs })` continues a fit the checkpoint was taken in. Pass the optimizer the
   * stage trained with when it is not the trainer's.
   */
  async resumeFrom(dir: string, options: { optimizer?: AnyOptimizer } = {}): Promise<void> {
    return this.exclusive(async () => {
      const saved = await readSavedRun(dir);
      this.checkSavedLayout(saved.state, dir);
      await this.applyCheckpoint(dir, saved.state, this.stagePlugins[saved.state.stage] ?? [], () => {
        if (options.optimizer) this.trainer.setOptimizer(options.optimizer);
      });
      this.announceResumed = this.state.inStage;
    });
  }

  /** Remove this meta-trainer's plugins from the trainer and dispose the optimizers it made. */
  dispose(): void {
    this.removeStagePlugins?.();
    this.removeStagePlugins = undefined;
    this.removeSelf();
    this.optimizers.dispose();
  }

  // ---------------------------------------------------------------------------------------------

  /** The plugin through which the run's state reaches checkpoints and plugins reach the run. */
  private plugin(): Plugin<typeof META_TRAINER> {
    const self = this;
    const api: MetaTrainerApi = {
      get stage() {
        return self.state.stage;
      },
      get stageName() {
        return self.state.stageName ?? undefined;
      },
      stopRun: (reason) => {
        self.state = { ...self.state, runStop: { message: String(reason) } };
        return stop(reason);
      },
      results: () => self.results(),
    };
    return definePlugin({
      name: META_TRAINER,
      api,
      state: () => self.state,
      parseState: (saved) => parseMetaState(saved),
      loadState: (state) => {
        self.state = state;
      },
    });
  }

  /** One meta operation at a time; an un-awaited `tick()` finishes first (its error is thrown here). */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    const pending = this.pending;
    if (pending) {
      await pending;
      if (this.pending === pending) this.pending = undefined;
      const failed = this.pendingError;
      this.pendingError = undefined;
      if (failed) throw failed.error;
    }
    if (this.busy) {
      throw fail(
        'TL_FIT_CONCURRENT',
        'a MetaTrainer call was made while another is still running. Await the running call first.',
      );
    }
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  private async initialEvaluation(): Promise<void> {
    const ev = this.evaluation;
    if (!ev?.atInit || this.state.stage !== 0 || this.state.evaluations.some((e) => e.stage < 0)) return;
    await this.evaluate(-1, 'init');
  }

  private async beginStage(
    index: number,
    stage: {
      name: string;
      plugins: readonly Plugin[];
      optimizer: StageOptimizer | undefined;
      epochs: number;
      data: DataInput;
    },
  ): Promise<void> {
    const remove = this.trainer.addPlugins(stage.plugins);
    try {
      this.optimizers.apply(stage.optimizer);
    } catch (error) {
      remove();
      throw error;
    }
    this.removeStagePlugins = remove;
    this.trainer.enterStage(index);
    this.state = {
      ...this.state,
      stage: index,
      stageName: stage.name,
      inStage: true,
      fitsDone: 0,
      firstFit: this.trainer.time.fitIndex + 1,
      layout: this.state.layout.length > 0 ? this.state.layout : layoutOf(this.evaluation),
      runStop: null,
      stageStop: null,
    };
    await this.announceStart(stage.data, stage.epochs, false);
  }

  private async announceStart(data: DataInput, epochs: number, resumed: boolean): Promise<void> {
    this.announceResumed = false;
    await this.ctx.emit('meta:stageStart', {
      stage: this.state.stage,
      name: this.state.stageName ?? defaultStageName(this.state.stage),
      stages: this.planned,
      epochs,
      data,
      resumed,
    });
  }

  private async stageFit(data: DataInput, fit: FitOptions): Promise<FitResult> {
    const result = await this.trainer.fit(data, fit);
    this.state = { ...this.state, fitsDone: this.state.fitsDone + 1, stageStop: result.stopReason ?? null };
    return result;
  }

  /** Evaluation, `meta:stageEnd`, stage plugins removed; `advanced` runs as the index moves on. */
  private async endStage(advanced?: () => void): Promise<StageResult> {
    const index = this.state.stage;
    if (!this.state.inStage) {
      throw fail(
        'TL_OPTION_INVALID',
        `stage ${index} has not trained: call meta.fit(data, { epochs }) before meta.tick() (a stage that trains nothing is an error).`,
      );
    }
    const name = this.state.stageName ?? defaultStageName(index);
    if (this.evaluation && !this.state.evaluations.some((e) => e.stage === index)) {
      await this.evaluate(index, name);
    }
    const history = this.trainer.history.filter((h) => h.fitIndex >= this.state.firstFit);
    const time = { ...this.trainer.time };
    await this.ctx.emit('meta:stageEnd', {
      stage: index,
      name,
      history,
      stopReason: this.state.stageStop ?? undefined,
      stopsRun: this.state.runStop !== null,
      time,
    });
    this.removeStagePlugins?.();
    this.removeStagePlugins = undefined;
    this.state = { ...this.state, stage: index + 1, stageName: null, inStage: false, fitsDone: 0 };
    advanced?.();
    return { stage: index, name, history, stopReason: this.state.stageStop ?? undefined, time };
  }

  private async evaluate(stage: number, name: string): Promise<void> {
    const ev = this.evaluation!;
    await this.ctx.emit('meta:evalStart', { stage, name, streams: ev.streams.map((s) => s.name) });
    const streams = await evaluateStreams(this.trainer, ev);
    const { step, epoch } = this.trainer.time;
    const layout = this.state.layout.length > 0 ? this.state.layout : layoutOf(ev);
    const evaluations = [...this.state.evaluations, { stage, name, step, epoch, streams }];
    this.state = { ...this.state, layout, evaluations };
    const matrices = buildMatrices(layout, evaluations);
    await this.ctx.emit('meta:evalEnd', { stage, name, metrics: publishedBy(matrices, stage), matrices });
  }

  /** Stage plugins that cannot be ordered with the trainer's fail before the first stage trains. */
  private checkStagePluginsFit(stages: readonly CheckedStage[]): void {
    for (const stage of stages) this.trainer.addPlugins(stage.plugins)();
  }

  private checkSavedLayout(saved: MetaTrainerState, dir: string): void {
    const layout = layoutOf(this.evaluation);
    if (saved.layout.length > 0 && !sameLayout(saved.layout, layout)) {
      const show = (l: typeof layout) =>
        l.length === 0 ? 'none' : l.map((s) => `${s.name} (${s.samples.join('/')} samples)`).join(', ');
      throw fail(
        'TL_CHECKPOINT_INVALID',
        `${dir} was written by a run evaluating ${show(saved.layout)}, but this run evaluates ${show(layout)}. Resume with the same evaluate.streams.`,
      );
    }
  }

  /** Add the saved stage's plugins and optimizer, then apply the checkpoint (state included). */
  private async applyCheckpoint(
    dir: string,
    saved: MetaTrainerState,
    plugins: readonly Plugin[],
    setOptimizer: () => void,
  ): Promise<void> {
    const remove = saved.inStage ? this.trainer.addPlugins(plugins) : undefined;
    try {
      setOptimizer();
      await this.trainer.loadCheckpoint(dir);
    } catch (error) {
      remove?.();
      throw error;
    }
    this.removeStagePlugins = remove;
  }

  /** Continue a run from a checkpoint; returns the index of the next stage to start. */
  private async resumeRun(
    stages: readonly CheckedStage[],
    dir: string,
    done: StageResult[],
  ): Promise<number> {
    if (this.state.inStage || this.state.evaluations.length > 0 || this.state.stage !== 0) {
      throw fail('TL_OPTION_INVALID', 'run({ resumeFrom }) needs a MetaTrainer that has not run yet.');
    }
    const { state: saved, inFit } = await readSavedRun(dir);
    this.checkSavedLayout(saved, dir);
    const k = saved.stage;
    if (k > stages.length || (k === stages.length && saved.inStage)) {
      throw fail(
        'TL_CHECKPOINT_INVALID',
        `${dir} is at stage ${k}, but this run has ${stages.length} stages.`,
      );
    }
    if (saved.inStage && saved.stageName !== stages[k]!.name) {
      throw fail(
        'TL_CHECKPOINT_INVALID',
        `${dir} was written in stage ${k} "${saved.stageName}", but this run's stage ${k} is "${stages[k]!.name}". Resume with the same stages.`,
      );
    }
    const trainedThrough = saved.inStage ? k : k - 1;
    await this.applyCheckpoint(dir, saved, saved.inStage ? stages[k]!.plugins : [], () =>
      this.optimizers.restoreThrough(stages.slice(0, trainedThrough + 1).map((s) => s.spec.optimizer)),
    );
    if (!this.state.inStage) {
      await this.initialEvaluation();
      return k;
    }
    const stage = stages[k]!;
    await this.announceStart(stage.spec.data, stage.spec.epochs, true);
    if (this.state.fitsDone === 0) {
      if (!inFit && this.trainer.time.stageEpoch > 0) {
        throw fail(
          'TL_CHECKPOINT_INVALID',
          `${dir} was written in stage ${k} after its fit and before its end; resume from a checkpoint written during a fit or between stages.`,
        );
      }
      await this.stageFit(stage.spec.data, { ...stage.fit, epochs: stage.spec.epochs });
    }
    done.push(await this.endStage());
    return k + 1;
  }

  private runStopReason(done: readonly StageResult[]): RunStopReason | undefined {
    const asked = this.state.runStop;
    if (!asked) return undefined;
    const last = done.at(-1);
    const stopReason = last?.stopReason;
    return {
      by: stopReason?.by ?? META_TRAINER,
      message: asked.message,
      stage: last?.stage ?? this.state.stage - 1,
    };
  }
}
