import type { Plugin } from '@tensorloop/core';
import { expectTypeOf, test } from 'vitest';
import { type CheckName, checkPlugin, type PluginReport, type PluginUnderTest } from './index.js';

declare const myPlugin: () => Plugin;

test('checkPlugin takes a factory or a module reference with JSON options, and resolves to a report', () => {
  expectTypeOf(checkPlugin(myPlugin)).resolves.toEqualTypeOf<PluginReport>();
  expectTypeOf<{
    module: URL;
    export: string;
    options: { patience: number; monitor: string };
  }>().toExtend<PluginUnderTest>();
  // Options travel to other processes as JSON: a function is not an option.
  // @ts-expect-error a schedule function cannot be sent to a child process
  checkPlugin({ module: new URL('file:///x.js'), options: { fn: (p: number) => p } });
  // @ts-expect-error a check name that does not exist
  checkPlugin(myPlugin, { checks: { leak: false } });
  // @ts-expect-error 'load' always runs
  checkPlugin(myPlugin, { checks: { load: false } });
  expectTypeOf<CheckName>().toEqualTypeOf<
    | 'load'
    | 'leaks'
    | 'resume'
    | 'stop'
    | 'skipBatch'
    | 'error'
    | 'refit'
    | 'state'
    | 'parseState'
    | 'hparams'
    | 'timing'
  >();
});
