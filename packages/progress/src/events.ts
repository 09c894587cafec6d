/**
 * Namespaced events of other packages that progress announces with a line of its own. They are
 * read structurally (any package may emit them; progress depends on none): the fields below are
 * the documented contract, shared with `@tensorloop/report`.
 *
 * - `finetune:transition` `{ phase: number, name?, message?, unfrozen?: string[] }`: a phase begins.
 * - `meta:stageStart` `{ stage: number, name?, message? }`: a stage begins.
 * - `meta:stageEnd` `{ stage: number, name?, message? }`: a stage ended.
 */
export const ANNOUNCED_EVENTS = ['finetune:transition', 'meta:stageStart', 'meta:stageEnd'] as const;
export type AnnouncedEvent = (typeof ANNOUNCED_EVENTS)[number];

function field(event: unknown, key: string): unknown {
  return typeof event === 'object' && event !== null ? (event as Record<string, unknown>)[key] : undefined;
}

function text(event: unknown, key: string): string | undefined {
  const v = field(event, key);
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function index(event: unknown, key: string): number | undefined {
  const v = field(event, key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The line progress prints for one of those events, or undefined when the event has no usable fields. */
export function announce(name: AnnouncedEvent, event: unknown): string | undefined {
  const label = text(event, 'name');
  const message = text(event, 'message');
  if (name === 'finetune:transition') {
    const phase = index(event, 'phase');
    if (phase === undefined && !label && !message) return undefined;
    const unfrozen = field(event, 'unfrozen');
    const count = Array.isArray(unfrozen) ? ` (${unfrozen.length} weights unfrozen)` : '';
    return `── phase ${phase ?? '?'}${label ? `: ${label}` : ''}${message ? ` · ${message}` : count} ──`;
  }
  const stage = index(event, 'stage');
  if (stage === undefined && !label && !message) return undefined;
  const what = name === 'meta:stageStart' ? 'stage' : 'end of stage';
  return `── ${what} ${stage ?? '?'}${label ? `: ${label}` : ''}${message ? ` · ${message}` : ''} ──`;
}
