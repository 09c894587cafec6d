/**
 * Checks for files we did not write: a `model.json` or checkpoint manifest names weight files and
 * sizes, and either may have been crafted. Weight paths must stay inside the model's folder (no
 * `../secret.bin`, no absolute path, no symlink out), and the bytes the weight specs describe must
 * match the files' sizes before anything is read or allocated (a 10^12-element shape is refused by
 * arithmetic, not by running out of memory).
 */
import { TensorloopError } from '../errors.js';

/** Node's fs and path, as `loadNodeBuiltins()` gives them (structural: no import cycle with atomic-dir). */
interface NodeBuiltins {
  readonly fs: typeof import('node:fs/promises');
  readonly path: typeof import('node:path');
}

/** A weight path of `where`, checked and normalized (`./a//b` -> `a/b`); refuses one leaving its folder. */
export function weightPathInside(relative: unknown, where: string): string {
  const refuse = (why: string): never => {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${where} lists the weight path ${JSON.stringify(relative)}, which ${why}; weight paths must be ` +
        "relative names inside the model's folder, such as 'weights.bin' or 'group1-shard1of1.bin'. " +
        'Refusing to read it: re-save the model, or do not load a model.json from an untrusted source.',
    );
  };
  if (typeof relative !== 'string' || relative === '') return refuse('is not a file name');
  if (relative.includes('\0')) return refuse('contains a NUL character');
  if (relative.includes('\\')) return refuse('contains a backslash (a Windows path)');
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) return refuse('is an absolute path');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(relative)) return refuse('is a URL');
  const out: string[] = [];
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return refuse('leaves the folder (..)');
      out.pop();
    } else out.push(part);
  }
  if (out.length === 0) return refuse('names the folder itself');
  return out.join('/');
}

function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Refuses `file` when its real location (symlinks followed) is outside `dir`. A missing file passes:
 * the read that follows reports it with its own message.
 */
export async function assertRealPathInside(
  node: NodeBuiltins,
  dir: string,
  file: string,
  where: string,
): Promise<void> {
  let real: string;
  let realDir: string;
  try {
    [realDir, real] = await Promise.all([node.fs.realpath(dir), node.fs.realpath(file)]);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      `could not resolve ${file}: ${error instanceof Error ? error.message : String(error)}; check the path`,
      { cause: error },
    );
  }
  const relative = node.path.relative(realDir, real);
  if (relative === '' || relative.startsWith('..') || node.path.isAbsolute(relative)) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${where}: ${file} is a symbolic link to ${real}, outside ${realDir}; weight files must be inside ` +
        "the model's folder. Refusing to read it: copy the file into the folder instead of linking it.",
    );
  }
}

/** The size in bytes of `file`, or undefined when it does not exist (the read reports that). */
export async function fileSize(node: NodeBuiltins, file: string): Promise<number | undefined> {
  try {
    return (await node.fs.stat(file)).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      `could not inspect ${file}: ${error instanceof Error ? error.message : String(error)}; check the path`,
      { cause: error },
    );
  }
}

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the weight specs of a model.json describe: the exact byte count, or the minimum when some
 * weights are strings (their length is in the data). Refuses malformed specs and shapes whose size
 * is not a safe integer.
 */
export function weightSpecBytes(specs: readonly unknown[], where: string): { bytes: number; exact: boolean } {
  let bytes = 0;
  let exact = true;
  specs.forEach((spec, i) => {
    const one = specBytes(spec, i, where);
    exact &&= one.exact;
    bytes += one.bytes;
    if (!Number.isSafeInteger(bytes)) refuseSpec(spec, i, where, 'makes the total size absurd');
  });
  return { bytes, exact };
}

function refuseSpec(spec: unknown, i: number, where: string, why: string): never {
  const name = isRecord(spec) && typeof spec.name === 'string' ? spec.name : `#${i}`;
  throw new TensorloopError(
    'TL_CHECKPOINT_INVALID',
    `${where}: weight ${JSON.stringify(name)} ${why}; expected { name, shape: [non-negative integers], ` +
      "dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64' } as tfjs saves it. Re-save the model.",
  );
}

/** One weight spec's bytes (the minimum for strings: a 4-byte length each). */
function specBytes(spec: unknown, i: number, where: string): { bytes: number; exact: boolean } {
  if (!isRecord(spec) || typeof spec.name !== 'string') {
    return refuseSpec(spec, i, where, 'is not a weight spec with a name');
  }
  const shape = spec.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    return refuseSpec(spec, i, where, `has the shape ${JSON.stringify(shape)}`);
  }
  const elements = (shape as number[]).reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(elements))
    return refuseSpec(spec, i, where, `has the absurd shape ${JSON.stringify(shape)}`);
  const quantization = spec.quantization;
  if (spec.dtype === 'string' && quantization === undefined) return { bytes: elements * 4, exact: false };
  const stored = isRecord(quantization) ? quantization.dtype : spec.dtype;
  const size = typeof stored === 'string' ? BYTES_PER_ELEMENT[stored] : undefined;
  if (size === undefined || BYTES_PER_ELEMENT[String(spec.dtype)] === undefined) {
    return refuseSpec(spec, i, where, `has the dtype ${JSON.stringify(stored)}`);
  }
  const bytes = elements * size;
  if (!Number.isSafeInteger(bytes))
    return refuseSpec(spec, i, where, `has the absurd shape ${JSON.stringify(shape)}`);
  return { bytes, exact: true };
}

/**
 * Refuses weight specs whose bytes disagree with the weight files' total size (`actual`): a
 * truncated file, a file from another model, or a shape made up to allocate more than is there.
 */
export function assertWeightBytes(specs: readonly unknown[], actual: number, where: string): void {
  const { bytes, exact } = weightSpecBytes(specs, where);
  if (exact ? bytes === actual : bytes <= actual) return;
  throw new TensorloopError(
    'TL_CHECKPOINT_CORRUPT',
    `${where}: the weight specs describe ${exact ? '' : 'at least '}${bytes} bytes but the weight files hold ` +
      `${actual}; the files are truncated, come from another model, or the model.json was altered. ` +
      'Re-save the model, or load an earlier checkpoint.',
  );
}
