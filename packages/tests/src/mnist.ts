export { mnistTensors } from '@tensorloop/test-fixtures';
