import type { ReportApi, ReportState } from './report.js';

export { REPORT_EVENTS, type ReportEventName } from './contract.js';
export type { ReportOptions } from './options.js';
export { type AccuracyMatrixInput, type ReportApi, type ReportState, report } from './report.js';
export type {
  AccuracyMatrixRecord,
  EpochEntry,
  EventKind,
  FitRecord,
  HparamPoint,
  HparamValue,
  LrFinderRecord,
  ReportEvent,
  ReportHistory,
} from './types.js';
export { HISTORY_FORMAT, HISTORY_VERSION } from './types.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/report': ReportState;
  }
  interface PluginApiMap {
    '@tensorloop/report': ReportApi;
  }
}
