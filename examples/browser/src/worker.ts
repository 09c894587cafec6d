// The worker side of "Train in a worker": the same run, served with @tensorloop/core/worker.
import { serveTrainer } from '@tensorloop/core/worker';
import { chooseBackend } from './backend.js';
import { digitData, digitTrainer, type RunConfig } from './training.js';

const backend = chooseBackend(new URL(self.location.href).searchParams.get('backend'));

serveTrainer<RunConfig>(self as unknown as Parameters<typeof serveTrainer>[0], {
  async create(config, bridge) {
    await backend;
    return digitTrainer(config, [bridge.plugin], bridge.log);
  },
  data() {
    const { data, validationData } = digitData();
    return { data, fit: { validationData, batchSize: 32 } };
  },
  sendWeights: true,
});
