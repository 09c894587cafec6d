import * as tf from '@tensorflow/tfjs';
import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** What was asked for. */
  readonly requested: BackendChoice;
  /** The tfjs backend now active: 'tensorflow', 'wasm' or 'cpu'. */
  readonly backend: string;
  /** The package that provides it. */
  readonly provider: string;
  /** One sentence saying what runs and why, also logged unless `quiet`. */
  readonly message: string;
}

export interface InitBackendOptions {
  /** Do not print which backend runs. */
  readonly quiet?: boolean;
  /** Threads for wasm (passed to @tensorloop/backend-wasm). */
  readonly threads?: number;
  /** How optional packages are loaded; for tests and bundlers. Defaults to dynamic `import()`. */
  readonly importModule?: (specifier: string) => Promise<unknown>;
}

const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const WASM_PACKAGE = '@tensorloop/backend-wasm';

interface WasmModule {
  initWasmBackend(options?: { threads?: number }): Promise<unknown>;
}

// A variable specifier keeps bundlers from trying to resolve optional peers at build time.
const defaultImport = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

function isMissingModule(error: unknown, specifier: string): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    (e.message ?? '').includes(specifier)
  );
}

async function tryImport(
  load: (s: string) => Promise<unknown>,
  specifier: string,
): Promise<unknown | undefined> {
  try {
    return await load(specifier);
  } catch (error) {
    if (isMissingModule(error, specifier)) return undefined;
    throw new TensorloopError(
      'TL_BACKEND_UNAVAILABLE',
      `${specifier} is installed but failed to load: ${(error as Error)?.message ?? String(error)}. Reinstall it, or choose another backend.`,
      { cause: error },
    );
  }
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new TensorloopError('TL_BACKEND_UNAVAILABLE', `The tfjs backend "${name}" failed to initialize.`);
  }
}

async function initTensorflow(load: (s: string) => Promise<unknown>): Promise<string | undefined> {
  for (const pkg of NODE_PACKAGES) {
    const mod = await tryImport(load, pkg);
    if (mod !== undefined) {
      await activate('tensorflow');
      return pkg;
    }
  }
  return undefined;
}

async function initWasm(
  load: (s: string) => Promise<unknown>,
  threads: number | undefined,
): Promise<boolean> {
  const mod = (await tryImport(load, WASM_PACKAGE)) as WasmModule | undefined;
  if (!mod) return false;
  if (typeof mod.initWasmBackend !== 'function') {
    throw new TensorloopError(
      'TL_BACKEND_UNAVAILABLE',
      `${WASM_PACKAGE} does not export initWasmBackend(); upgrade it to a version that matches @tensorloop/core.`,
    );
  }
  await mod.initWasmBackend(threads === undefined ? {} : { threads });
  if (tf.getBackend() !== 'wasm') await activate('wasm');
  return true;
}

/**
 * Choose and initialize the tfjs backend before creating any tensor (DESIGN §10).
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` (optional peers).
 * - `wasm`: `@tensorloop/backend-wasm` (wasm plus the kernels training needs).
 * - `cpu`: tfjs's pure-JS backend; always works, slowest.
 * - `auto`: the first of those that is installed.
 */
export async function initBackend(
  choice: BackendChoice = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const load = options.importModule ?? defaultImport;
  let provider: string;
  let why: string;
  switch (choice) {
    case 'tensorflow': {
      const pkg = await initTensorflow(load);
      if (!pkg) {
        throw new TensorloopError(
          'TL_BACKEND_UNAVAILABLE',
          `Backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, and neither is installed. Install one (npm i @tensorflow/tfjs-node; its install downloads libtensorflow), or use initBackend('wasm') / 'cpu'.`,
        );
      }
      provider = pkg;
      why = 'requested';
      break;
    }
    case 'wasm': {
      if (!(await initWasm(load, options.threads))) {
        throw new TensorloopError(
          'TL_BACKEND_UNAVAILABLE',
          `Backend "wasm" needs ${WASM_PACKAGE} (it adds the kernels tfjs's wasm backend lacks for training). Install it: npm i ${WASM_PACKAGE}.`,
        );
      }
      provider = WASM_PACKAGE;
      why = 'requested';
      break;
    }
    case 'cpu': {
      await activate('cpu');
      provider = '@tensorflow/tfjs';
      why = 'requested';
      break;
    }
    case 'auto': {
      const pkg = await initTensorflow(load);
      if (pkg) {
        provider = pkg;
        why = `auto: ${pkg} is installed`;
      } else if (await initWasm(load, options.threads)) {
        provider = WASM_PACKAGE;
        why = `auto: ${WASM_PACKAGE} is installed, tfjs-node is not`;
      } else {
        await activate('cpu');
        provider = '@tensorflow/tfjs';
        why = `auto: neither tfjs-node nor ${WASM_PACKAGE} is installed (install ${WASM_PACKAGE} for 5-20x faster training)`;
      }
      break;
    }
    default:
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `Unknown backend ${describeValue(choice)}. Use 'auto', 'tensorflow', 'wasm' or 'cpu'.`,
      );
  }
  const backend = tf.getBackend();
  const message = `tensorloop: training on the "${backend}" backend (${provider}; ${why}).`;
  if (!options.quiet) console.log(message);
  return { requested: choice, backend, provider, message };
}
