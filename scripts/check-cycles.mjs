#!/usr/bin/env node
// Fails when a package's source has a circular import (type-only imports included: a cycle of
// types is still a knot for the next reader). Usage: node scripts/check-cycles.mjs [packages-dir]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? new URL('../packages', import.meta.url).pathname);
const IMPORT =
  /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.ts$/.test(name) && !/\.d\.ts$/.test(name)) out.push(path);
  }
  return out;
}

function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const cycles = [];
for (const pkg of readdirSync(root)) {
  const src = join(root, pkg, 'src');
  if (!existsSync(src)) continue;
  const graph = new Map();
  for (const file of sourceFiles(src)) {
    const deps = new Set();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolveImport(file, m[1] ?? m[2]);
      if (target) deps.add(target);
    }
    graph.set(file, deps);
  }
  const state = new Map(); // 1 = on the stack, 2 = done
  const stack = [];
  const visit = (file) => {
    state.set(file, 1);
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 1) cycles.push(stack.slice(stack.indexOf(dep)).concat(dep));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 2);
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
}

if (cycles.length > 0) {
  console.error(
    `check-cycles: ${cycles.length} circular import(s) in ${relative(process.cwd(), root) || root}:`,
  );
  for (const c of cycles) console.error(`  ${c.map((f) => relative(root, f)).join(' → ')}`);
  process.exit(1);
}
console.log(`check-cycles: no circular imports in ${relative(process.cwd(), root) || '.'}/*/src`);
