export { type ContractOptions, type ContractReport, runResumeContract } from './contract/harness.js';
export type { ContractRun, ContractScenario, Interruption, RunResult } from './contract/scenario.js';
export { mnistTensors } from './mnist.js';
