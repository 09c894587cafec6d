import { TensorloopError, type TensorloopErrorCode } from '@tensorloop/core';

export const PLUGIN_NAME = '@tensorloop/finetune-scheduler';

/** A coded error naming this plugin; messages say what was expected and how to fix it. */
export function fail(code: TensorloopErrorCode, message: string): never {
  throw new TensorloopError(code, `[${PLUGIN_NAME}] ${message}`, { plugin: PLUGIN_NAME });
}

/** An invalid schedule: always before the first training step. */
export function invalidSchedule(message: string): never {
  return fail('TL_SCHEDULE_INVALID', message);
}
