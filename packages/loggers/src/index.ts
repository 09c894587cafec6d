import type { CsvLoggerApi, CsvPosition } from './csv.js';
import type { LoggerState } from './define-logger.js';
import type { JsonLinesApi, JsonLinesPosition } from './json-lines.js';
import type { TensorBoardApi, TensorBoardPosition } from './tensorboard.js';

export { CSV_LOGGER, type CsvLoggerApi, type CsvLoggerOptions, type CsvPosition, csvLogger } from './csv.js';
export {
  defineLogger,
  type LoggerApi,
  type LoggerDefinition,
  type LoggerEnd,
  type LoggerEpoch,
  type LoggerMessage,
  type LoggerStart,
  type LoggerState,
  type LoggerStep,
} from './define-logger.js';
export { DEFAULT_HPARAMS, type HparamSelection } from './hparams.js';
export {
  JSON_LINES_LOGGER,
  type JsonLinesApi,
  type JsonLinesOptions,
  type JsonLinesPosition,
  jsonLines,
} from './json-lines.js';
export {
  type HistogramOptions,
  TENSORBOARD_LOGGER,
  type TensorBoardApi,
  type TensorBoardOptions,
  type TensorBoardPosition,
  tensorBoard,
} from './tensorboard.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/loggers:tensorboard': LoggerState<TensorBoardPosition>;
    '@tensorloop/loggers:csv': LoggerState<CsvPosition>;
    '@tensorloop/loggers:jsonl': LoggerState<JsonLinesPosition>;
  }
  interface PluginApiMap {
    '@tensorloop/loggers:tensorboard': TensorBoardApi;
    '@tensorloop/loggers:csv': CsvLoggerApi;
    '@tensorloop/loggers:jsonl': JsonLinesApi;
  }
}
