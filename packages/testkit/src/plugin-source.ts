import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, type JsonValue, type Plugin, TensorloopError } from '@tensorloop/core';

/** Makes a fresh plugin instance on every call (the kit needs many: one per run). */
export type PluginFactory = () => Plugin;

/**
 * A plugin factory by module path, so that a fresh Node process can import it: what the resume
 * check needs. `exported(options)` must return a new plugin instance on every call.
 *
 * ```ts
 * { module: new URL('../dist/index.js', import.meta.url), export: 'myPlugin', options: { patience: 2 } }
 * ```
 */
export interface PluginModule {
  /** A compiled ES module: a URL (`new URL('./my-plugin.js', import.meta.url)`) or an absolute path. */
  readonly module: string | URL;
  /** The named export of the factory. Default `'default'`. */
  readonly export?: string;
  /** The factory's argument (omitted: called without one). JSON only: it is sent to other processes. */
  readonly options?: JsonValue;
}

/** What `checkPlugin` takes: a factory function (checked in this process only) or a module reference. */
export type PluginUnderTest = PluginFactory | PluginModule;

/** A module reference as a child process receives it. */
export interface ModuleRef {
  readonly href: string;
  readonly export: string;
  readonly options: JsonValue | undefined;
}

export interface LoadedPlugin {
  /** A new instance. */
  make(): Plugin;
  /** Set for module references: the resume check can then run in fresh processes. */
  readonly ref: ModuleRef | undefined;
  /** How the report names the source: `export earlyStopping of file:///.../dist/index.js`, or `a factory function`. */
  readonly label: string;
}

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', `@tensorloop/testkit: ${message}`);
}

function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') invalid('`module` must be a URL or an absolute path.');
  if (/^file:/.test(module)) return new URL(module).href;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  return invalid(
    `module '${module}' is neither a file URL nor an absolute path. Pass new URL('${module}', import.meta.url), or import.meta.resolve('${module}') for a package name.`,
  );
}

function checkJson(value: JsonValue | undefined): void {
  if (value === undefined) return;
  let copy: string;
  try {
    copy = JSON.stringify(value);
  } catch (cause) {
    invalid(`the factory's options must be JSON (they are sent to a fresh process): ${String(cause)}.`);
  }
  if (copy === undefined || JSON.stringify(JSON.parse(copy)) !== copy) {
    invalid("the factory's options must be JSON (they are sent to a fresh process).");
  }
}

/** Imports a module reference's factory (in this process or a child). */
export async function importFactory(ref: ModuleRef): Promise<PluginFactory> {
  const mod = (await import(ref.href)) as Record<string, unknown>;
  const factory = mod[ref.export];
  if (typeof factory !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    return invalid(
      `${ref.href} has no function export '${ref.export}' (its function exports: ${names.join(', ') || 'none'}).`,
    );
  }
  const make = factory as (options?: JsonValue) => Plugin;
  // A fresh copy of the options per instance, so instances never share an options object.
  return () =>
    ref.options === undefined ? make() : make(JSON.parse(JSON.stringify(ref.options)) as JsonValue);
}

function checked(make: PluginFactory, label: string): PluginFactory {
  return () => {
    const plugin = make();
    if (
      plugin === null ||
      typeof plugin !== 'object' ||
      typeof plugin.name !== 'string' ||
      plugin.name === ''
    ) {
      invalid(
        `${label} did not return a plugin (an object with a non-empty \`name\`); got ${describeValue(plugin)}.`,
      );
    }
    return plugin;
  };
}

export async function loadPlugin(source: PluginUnderTest): Promise<LoadedPlugin> {
  if (typeof source === 'function') {
    return { make: checked(source, 'the factory'), ref: undefined, label: 'a factory function' };
  }
  if (source === null || typeof source !== 'object' || !('module' in source)) {
    return invalid('checkPlugin takes a factory function or { module, export, options }.');
  }
  checkJson(source.options);
  const ref: ModuleRef = {
    href: moduleHref(source.module),
    export: source.export ?? 'default',
    options: source.options,
  };
  const label = `export ${ref.export} of ${ref.href}`;
  return { make: checked(await importFactory(ref), label), ref, label };
}
