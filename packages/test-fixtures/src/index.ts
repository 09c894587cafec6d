export { mnistTensors } from './mnist.js';
export { maxAbsDiff, weightsOf } from './weights.js';
