import type { Logs } from '@tensorloop/core';

/** A metric value with four decimals (tfjs#899: "doesn't show enough decimal places"), exponents at the extremes. */
export function formatValue(value: number | undefined): string {
  if (value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(3);
  if (magnitude >= 100) return value.toFixed(2);
  return value.toFixed(4);
}

/** A hyperparameter: 3 significant digits, exponent below 0.01 (`3.00e-3`). */
export function formatHparamShort(value: number): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const magnitude = Math.abs(value);
  return magnitude < 1e-2 || magnitude >= 1e5 ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

/** `4.2s`, `1:05`, `1:02:03`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** An integer with thin thousands separators, locale-independent: `12,345`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '?';
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatRate(samplesPerSecond: number): string {
  if (!Number.isFinite(samplesPerSecond) || samplesPerSecond <= 0) return '- samples/s';
  return `${samplesPerSecond < 10 ? samplesPerSecond.toFixed(1) : formatCount(samplesPerSecond)} samples/s`;
}

/** `@tensorloop/early-stopping` → `early-stopping`; other names unchanged. */
export function shortSource(source: string): string {
  return source.startsWith('@tensorloop/') ? source.slice('@tensorloop/'.length) : source;
}

/** Training keys first (in log order, `smooth_loss` left out), then validation keys. */
export function orderedLogKeys(logs: Logs): string[] {
  const keys = Object.keys(logs).filter((k) => logs[k] !== undefined && k !== 'smooth_loss');
  return [...keys.filter((k) => !k.startsWith('val_')), ...keys.filter((k) => k.startsWith('val_'))];
}

export function formatLogs(logs: Logs): string {
  return orderedLogKeys(logs)
    .map((k) => `${k} ${formatValue(logs[k])}`)
    .join(' · ');
}

export interface EpochSummary {
  readonly epoch: number;
  readonly epochs: number | undefined;
  readonly ms: number;
  readonly samplesPerSecond: number;
  readonly logs: Logs;
  readonly hparams: readonly { readonly label: string; readonly value: number }[];
  readonly partial: boolean;
}

/** `epoch 3/10 · 4.2s · 1,530 samples/s · loss 0.3120 · accuracy 0.9021 · val_loss 0.2811 · lr 3.00e-3` */
export function summaryLine(s: EpochSummary): string {
  const parts = [
    `epoch ${s.epoch + 1}${s.epochs === undefined ? '' : `/${s.epochs}`}${s.partial ? ' (cut short)' : ''}`,
    formatDuration(s.ms),
    formatRate(s.samplesPerSecond),
  ];
  // Core's epoch logs carry `lr` / `lr/<group>`: shown once, with the hyperparameters, not as a log value.
  const logs = formatLogs(
    Object.fromEntries(Object.entries(s.logs).filter(([k]) => k !== 'lr' && !k.startsWith('lr/'))),
  );
  if (logs) parts.push(logs);
  for (const h of s.hparams) parts.push(`${h.label} ${formatHparamShort(h.value)}`);
  return parts.join(' · ');
}

export interface LiveState {
  readonly epoch: number;
  readonly epochs: number | undefined;
  readonly steps: number;
  readonly totalSteps: number | undefined;
  readonly samplesPerSecond: number;
  /** Remaining time of the epoch, ms. */
  readonly etaMs: number | undefined;
  /** Remaining time of the fit, ms. */
  readonly fitEtaMs: number | undefined;
  readonly loss: number | undefined;
  readonly phase: 'train' | 'validate';
}

/** The parts of a progress line after the bar: `45/120 steps · 1,234 samples/s · ETA 3.1s (fit 1:12) · loss 0.3124`. */
export function liveParts(s: LiveState): string[] {
  const parts = [
    s.totalSteps === undefined ? `${s.steps} steps` : `${s.steps}/${s.totalSteps} steps`,
    formatRate(s.samplesPerSecond),
  ];
  if (s.phase === 'validate') parts.push('validating');
  else if (s.etaMs !== undefined)
    parts.push(
      `ETA ${formatDuration(s.etaMs)}${s.fitEtaMs !== undefined && s.fitEtaMs > s.etaMs + 500 ? ` (fit ${formatDuration(s.fitEtaMs)})` : ''}`,
    );
  if (s.loss !== undefined) parts.push(`loss ${formatValue(s.loss)}`);
  return parts;
}

export function epochLabel(epoch: number, epochs: number | undefined): string {
  return `epoch ${epoch + 1}${epochs === undefined ? '' : `/${epochs}`}`;
}

/** The plain-text line printed instead of a bar: `epoch 3/10 · 45/120 steps (38%) · ...`. */
export function plainProgressLine(s: LiveState): string {
  const parts = liveParts(s);
  if (s.totalSteps) parts[0] = `${parts[0]} (${Math.floor((100 * s.steps) / s.totalSteps)}%)`;
  return [epochLabel(s.epoch, s.epochs), ...parts].join(' · ');
}
