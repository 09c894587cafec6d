import '@tensorflow/tfjs-backend-wasm';
import { version_core } from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from './kernels.js';
import { assertTestedVersions } from './version-check.js';

// Importing the package registers tfjs-backend-wasm and, on a tested tfjs, the training kernels.
assertTestedVersions({ core: version_core, wasm: version_wasm });
registerTrainingKernels();
