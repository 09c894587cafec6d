import type { DemoStep } from './step.js';

/**
 * (d) A short Split-MNIST sequence (0/1, 2/3, … as stages) with @tensorloop/meta-trainer; the
 * report draws its accuracy matrix (`meta:stageEnd` rows or `report.recordAccuracyMatrix`) as a
 * heatmap and each stage as a boundary. Wire it in here when the package lands.
 */
export const continual: DemoStep = {
  id: 'split-mnist',
  title: '(d) continual learning on Split-MNIST, stage by stage',
  pending: '@tensorloop/meta-trainer',
  async run() {},
};
