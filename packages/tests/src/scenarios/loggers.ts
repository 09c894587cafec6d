// Resume contract for @tensorloop/loggers: real MNIST with the TensorBoard (per-step scalars and
// histograms), CSV and JSON-lines loggers. Loggers must not change training (weights, history, time
// equal), and the files of the interrupted + resumed processes must equal the uninterrupted run's:
// each process's last decision is the CSV and JSON-lines text at the end of its fit.
import { readFileSync } from 'node:fs';
import { adam, definePlugin, Trainer } from '@tensorloop/core';
import { csvLogger, jsonLines, tensorBoard } from '@tensorloop/loggers';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

// The testkit's harness runs `child.js <spec as JSON>` ({ mode, dir, ... }): the interrupted and the
// resumed process share a log folder beside the checkpoint, the uninterrupted one has its own.
const spec = JSON.parse(process.argv[2] ?? 'null') as { mode?: string; dir?: string } | null;
if (!spec?.mode || !spec.dir) {
  throw new Error('the loggers scenario runs inside the testkit resume harness (child.js <spec as JSON>)');
}
const logDir = `${spec.dir}-logs-${spec.mode === 'straight' ? 'straight' : 'interrupted'}`;

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    const files = definePlugin({
      name: 'contract:logger-files',
      enforce: 'post',
      after: ['@tensorloop/loggers:tensorboard', '@tensorloop/loggers:csv', '@tensorloop/loggers:jsonl'],
      onFitEnd() {
        log.push({
          csv: readFileSync(`${logDir}/training.csv`, 'utf8'),
          jsonl: readFileSync(`${logDir}/training.jsonl`, 'utf8'),
        });
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(3),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: 0.01 }),
      plugins: [
        tensorBoard({ logDir: `${logDir}/tb`, updateFreq: 5, histograms: { every: 2 } }),
        csvLogger({ path: `${logDir}/training.csv` }),
        jsonLines({ path: `${logDir}/training.jsonl`, timestamps: false }),
        files,
        ...extraPlugins,
      ],
      seed: 4,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 4, batchSize: 32, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
