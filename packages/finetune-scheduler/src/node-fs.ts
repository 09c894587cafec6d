type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');

interface NodeProcess {
  readonly versions?: { readonly node?: string };
  getBuiltinModule?(id: string): unknown;
  cwd?(): string;
}

const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

/**
 * Node's `fs` and `path`, synchronously (a schedule file is read when the plugin is made, so the
 * hyperparameters it writes can be declared then), or undefined in a browser. No static import, so
 * the package stays importable in a browser.
 */
export function nodeModules(): { fs: NodeFs; path: NodePath; cwd: string } | undefined {
  const p = nodeProcess();
  if (typeof p?.versions?.node !== 'string' || typeof p.getBuiltinModule !== 'function') return undefined;
  return {
    fs: p.getBuiltinModule('node:fs') as NodeFs,
    path: p.getBuiltinModule('node:path') as NodePath,
    cwd: p.cwd?.() ?? '.',
  };
}
