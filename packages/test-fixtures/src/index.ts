export { mnistTensors } from './mnist.js';
export { classificationData } from './synthetic.js';
export { maxAbsDiff, weightsOf } from './weights.js';
