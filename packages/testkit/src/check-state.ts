import * as tf from '@tensorflow/tfjs';
import { type Plugin, TensorloopError } from '@tensorloop/core';
import { jsonDifference, jsonProblems, tensorDifference, tensorValues } from './json-state.js';
import type { Kit } from './kit-options.js';
import { describeError, releasePlugin } from './kit-run.js';
import { type CheckResult, checkResult } from './report.js';

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** State as core writes it into trainer.json and reads it back. */
const throughJson = (state: unknown): unknown => JSON.parse(JSON.stringify(state ?? null));

function cloneTensors(tensors: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, tf.clone(t)]));
}

function tensorProblems(plugin: Plugin, problems: string[]): tf.NamedTensorMap {
  if (typeof plugin.stateTensors !== 'function') return {};
  let tensors: unknown;
  try {
    tensors = plugin.stateTensors();
  } catch (error) {
    problems.push(`stateTensors() threw: ${describeError(error)}`);
    return {};
  }
  if (tensors === null || typeof tensors !== 'object') {
    problems.push(
      `stateTensors() returned ${show(tensors)}; it must return an object of tensors by name ({} for none)`,
    );
    return {};
  }
  const out: tf.NamedTensorMap = {};
  for (const [name, t] of Object.entries(tensors as Record<string, unknown>)) {
    if (!(t instanceof tf.Tensor)) problems.push(`stateTensors().${name} is not a tf.Tensor (${show(t)})`);
    else if (t.isDisposed)
      problems.push(`stateTensors().${name} is disposed: return tensors the plugin still owns`);
    else out[name] = t;
  }
  return out;
}

/** `state()`: plain JSON; through parseState and loadState into a fresh instance it gives the same state. */
export async function checkState(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const main = await kit.main();
  const plugin = main.plugin;
  const problems: string[] = [];
  const notes: string[] = [];
  if (typeof plugin.state !== 'function') {
    if (typeof plugin.loadState === 'function')
      notes.push('it has loadState() but no state(): loadState is never called');
    return checkResult('state', start, {
      status: 'skip',
      summary:
        'no state(): nothing of it goes into checkpoints (the resume check shows whether that is enough)',
      notes,
    });
  }
  if (typeof plugin.loadState !== 'function') {
    problems.push('it has state() but no loadState(): the saved state is never restored on resume');
  }
  let state: unknown;
  try {
    state = plugin.state();
  } catch (error) {
    problems.push(`state() threw after a fit: ${describeError(error)}`);
    return checkResult('state', start, { problems, summary: 'state() fails' });
  }
  const notJson = jsonProblems(state);
  if (notJson.length > 0) {
    problems.push(
      `state() is not plain JSON, so a checkpoint does not give it back: ${notJson.join('; ')}. Use numbers, strings, booleans, null, arrays and plain objects; tensors go in stateTensors().`,
    );
  }
  const bytes = JSON.stringify(state ?? null)?.length ?? 0;
  if (bytes > 256 * 1024) {
    notes.push(
      `state() is ${(bytes / 1024).toFixed(0)} KB of JSON: large numeric arrays belong in stateTensors() (binary, checksummed)`,
    );
  }
  const tensors = tensorProblems(plugin, problems);
  const tensorCount = Object.keys(tensors).length;
  let roundTrip = false;
  if (problems.length === 0) {
    const fresh = kit.subject.loaded.make();
    const copies = cloneTensors(tensors);
    try {
      const saved = throughJson(state);
      const parsed = fresh.parseState ? fresh.parseState(saved, plugin.version) : saved;
      fresh.loadState!(parsed as never, plugin.version, copies);
      const again = fresh.state?.();
      const diff = jsonDifference(throughJson(again), saved);
      if (diff) {
        problems.push(
          `state does not round-trip: saved, read by parseState and loadState into a fresh instance, its state() differs (${diff}, fresh vs saved). loadState must restore everything state() returns.`,
        );
      }
      if (tensorCount > 0) {
        const local: string[] = [];
        const max = tensorDifference(
          tensorValues(tensors),
          tensorValues(tensorProblems(fresh, local)),
          local,
          'state tensor',
        );
        problems.push(...local.map((p) => `after loadState, ${p}`));
        if (max > 0)
          problems.push(`after loadState the state tensors differ by up to ${max} from the saved ones`);
      }
      roundTrip = problems.length === 0;
    } catch (error) {
      problems.push(`loading its own saved state into a fresh instance failed: ${describeError(error)}`);
    } finally {
      tf.dispose(Object.values(copies)); // as core does after loadState
      releasePlugin(fresh);
    }
  }
  try {
    const untouched = throughJson(kit.bystander.state?.());
    const pristine = kit.subject.loaded.make();
    const diff = jsonDifference(untouched, throughJson(pristine.state?.()));
    releasePlugin(pristine);
    if (diff) {
      problems.push(
        `instances share state: an instance that never trained changed while another one did (${diff}). Keep state inside the factory's closure, not at module level.`,
      );
    }
  } catch (error) {
    problems.push(`state() of an unused instance threw: ${describeError(error)}`);
  }
  return checkResult('state', start, {
    problems,
    notes,
    summary:
      problems.length === 0
        ? `plain JSON (${bytes} bytes${tensorCount > 0 ? `, ${tensorCount} state tensors` : ''}); ${roundTrip ? 'round-trips through parseState/loadState into a fresh instance' : ''}; instances independent`
        : 'state does not survive a checkpoint',
  });
}

/** A wrong value of the same field: another type than the saved one. */
function wrongFor(value: unknown): unknown {
  if (typeof value === 'number') return 'garbage';
  if (typeof value === 'string') return 12345;
  if (typeof value === 'boolean') return 'garbage';
  if (value === null) return { garbage: true };
  return 'garbage';
}

/** Saved states with one field of the wrong type (top-level fields, and fields of nested objects). */
function mutations(
  saved: unknown,
): { path: string; state: unknown; wrong: unknown; get: (s: unknown) => unknown }[] {
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) return [];
  const out: ReturnType<typeof mutations> = [];
  for (const [key, value] of Object.entries(saved)) {
    const wrong = wrongFor(value);
    out.push({
      path: `state.${key}`,
      state: { ...saved, [key]: wrong },
      wrong,
      get: (s) => (s as Record<string, unknown> | null)?.[key],
    });
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) {
        const w = wrongFor(v);
        out.push({
          path: `state.${key}.${inner}`,
          state: { ...saved, [key]: { ...value, [inner]: w } },
          wrong: w,
          get: (s) => (s as Record<string, Record<string, unknown>> | null)?.[key]?.[inner],
        });
      }
    }
  }
  return out.slice(0, 40);
}

const GARBAGE: readonly unknown[] = [null, 42, 'garbage', [], true];

/** parseState (or, without one, loadState) refuses garbage with a coded error and lets no mistyped field through. */
export async function checkParseState(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const main = await kit.main();
  const plugin = main.plugin;
  if (typeof plugin.state !== 'function' || typeof plugin.loadState !== 'function') {
    return checkResult('parseState', start, {
      status: 'skip',
      summary: 'no state()/loadState(): nothing to parse',
    });
  }
  const problems: string[] = [];
  const notes: string[] = [];
  const codes = new Set<string>();
  const uncoded: string[] = [];
  let unnamed = false;
  const name = kit.subject.name;
  const refused = (error: unknown) => {
    if (error instanceof TensorloopError) {
      codes.add(error.code);
      if (!error.message.includes(name)) unnamed = true;
    } else uncoded.push(describeError(error));
  };
  const saved = throughJson(plugin.state());
  const version = plugin.version;
  const viaParse = typeof plugin.parseState === 'function';
  /** Applies `input` as core would; returns what the plugin kept of it (parsed value, or its state after loadState). */
  const apply = (input: unknown): unknown => {
    const fresh = kit.subject.loaded.make();
    try {
      if (viaParse) return fresh.parseState!(input, version);
      fresh.loadState!(input as never, version, {});
      return throughJson(fresh.state?.());
    } finally {
      releasePlugin(fresh);
    }
  };
  const what = viaParse ? 'parseState' : 'loadState (it has no parseState)';
  for (const garbage of GARBAGE) {
    try {
      const kept = apply(garbage);
      problems.push(`${what} accepted ${show(garbage)} as a saved state (and gave ${show(kept)})`);
    } catch (error) {
      refused(error);
    }
  }
  const fields = mutations(saved);
  let caught = 0;
  for (const m of fields) {
    try {
      const kept = apply(m.state);
      if (JSON.stringify(m.get(kept)) === JSON.stringify(m.wrong)) {
        problems.push(`${what} let ${m.path} = ${show(m.wrong)} through (saved: ${show(m.get(saved))})`);
      } else caught += 1; // ignored or defaulted: loadState never sees it
    } catch (error) {
      refused(error);
      caught += 1;
    }
  }
  if (uncoded.length > 0) {
    notes.push(
      `${what} threw ${uncoded.length} plain error(s), e.g. ${uncoded[0]}; core wraps them as TL_CHECKPOINT_INVALID, but readState(saved, '${name}') names the field in a TensorloopError`,
    );
  }
  if (unnamed) notes.push(`some refusals do not name the plugin '${name}' in their message`);
  if (!viaParse) {
    notes.push(
      "no parseState: core checks every plugin's state before applying any, so garbage refused only in loadState arrives after other state was applied. Add parseState (readState reads a state field by field).",
    );
  }
  if (problems.length > 0) {
    problems.push(
      `a checkpoint is a file: check it before trusting it (parseState(saved) { const s = readState(saved, '${name}'); return { wait: s.integer('wait', { min: 0 }), ... } })`,
    );
  }
  const codeText = codes.size > 0 ? ` with ${[...codes].join(', ')}` : '';
  return checkResult('parseState', start, {
    problems,
    notes,
    summary:
      problems.length === 0
        ? `${viaParse ? 'parseState' : 'loadState'} refused ${GARBAGE.length} garbage states and ${caught} mistyped field${caught === 1 ? '' : 's'}${codeText}`
        : `${viaParse ? 'parseState' : 'loadState'} lets garbage through`,
  });
}
