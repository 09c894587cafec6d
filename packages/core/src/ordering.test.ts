import { describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { orderPlugins } from './ordering.js';
import type { Plugin } from './plugin.js';

const names = (ps: Plugin[]) => ps.map((p) => p.name);
const p = (name: string, extra: Partial<Plugin> = {}): Plugin => ({ name, ...extra }) as Plugin;

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof TensorloopError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a TensorloopError');
}

describe('plugin ordering', () => {
  test('registration order is kept when nothing constrains it', () => {
    expect(names(orderPlugins([p('a'), p('b'), p('c')]))).toEqual(['a', 'b', 'c']);
  });

  test('tiers: pre plugins first, post plugins last, registration order inside a tier', () => {
    const out = orderPlugins([
      p('n1'),
      p('post1', { enforce: 'post' }),
      p('pre1', { enforce: 'pre' }),
      p('n2'),
      p('pre2', { enforce: 'pre' }),
    ]);
    expect(names(out)).toEqual(['pre1', 'pre2', 'n1', 'n2', 'post1']);
  });

  test('before/after and dependencies move plugins; unknown before/after targets are ignored', () => {
    const out = orderPlugins([
      p('logger', { after: ['early'] }),
      p('early', { dependencies: ['sched'] }),
      p('sched', { before: ['missing-but-optional'] }),
    ]);
    expect(names(out)).toEqual(['sched', 'early', 'logger']);
  });

  test('a cycle names the plugins, the constraints and the fix', () => {
    const { code, message } = codeOf(() =>
      orderPlugins([p('a', { after: ['c'] }), p('b', { after: ['a'] }), p('c', { after: ['b'] })]),
    );
    expect(code).toBe('TL_PLUGIN_CYCLE');
    expect(message).toMatch(/a → b → c → a|b → c → a → b|c → a → b → c/);
    expect(message).toContain('"b" runs after "a"');
    expect(message).toContain('Remove or reverse');
  });

  test('a constraint against a tier is a cycle too', () => {
    const { code, message } = codeOf(() =>
      orderPlugins([p('late', { enforce: 'post', before: ['normal'] }), p('normal')]),
    );
    expect(code).toBe('TL_PLUGIN_CYCLE');
    expect(message).toContain("enforce: 'post'");
  });

  test('a missing dependency names both plugins and the fix', () => {
    const { code, message } = codeOf(() => orderPlugins([p('finetune', { dependencies: ['lr'] })]));
    expect(code).toBe('TL_PLUGIN_MISSING');
    expect(message).toContain('"finetune" depends on "lr"');
    expect(message).toContain('Add it to plugins');
  });

  test('duplicate names are refused', () => {
    const { code, message } = codeOf(() => orderPlugins([p('x'), p('y'), p('x')]));
    expect(code).toBe('TL_PLUGIN_DUPLICATE');
    expect(message).toContain('plugins[0] and plugins[2]');
  });

  test('a factory passed without calling it is refused', () => {
    const { code } = codeOf(() => orderPlugins([(() => ({})) as unknown as Plugin]));
    expect(code).toBe('TL_PLUGIN_INVALID');
  });
});
