export { mnistTensors } from './mnist.js';
export {
  acceptsOrRefusesClearly,
  acceptsOrRefusesClearlyAsync,
  type CodedError,
  checkOptionProperties,
  isCodedError,
  junk,
  PROPERTY_RUNS,
  unprintable,
  validOptionKeys,
} from './properties.js';
export { classificationData } from './synthetic.js';
export { maxAbsDiff, weightsOf } from './weights.js';
