// Fails when a published package lacks README.md, CHANGELOG.md or an exports map with types first,
// or is not ESM-only as STYLE.md asks. Private packages (examples, bench, tests) are skipped.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
let checked = 0;
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir);
  const pkgFile = join(pkgDir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (pkg.private) continue;
  checked += 1;
  const where = `packages/${dir} (${pkg.name})`;
  if (pkg.name !== `@tensorloop/${dir}`) problems.push(`${where}: name should be @tensorloop/${dir}`);
  for (const file of ['README.md', 'CHANGELOG.md']) {
    if (!existsSync(join(pkgDir, file))) problems.push(`${where}: missing ${file}`);
  }
  const entry = pkg.exports?.['.'];
  if (!entry) problems.push(`${where}: missing an "exports" map with a "." entry`);
  else if (typeof entry !== 'object' || Object.keys(entry)[0] !== 'types') {
    problems.push(`${where}: exports["."] must list "types" first`);
  }
  if (pkg.type !== 'module') problems.push(`${where}: "type" must be "module" (ESM only)`);
  if (!Array.isArray(pkg.files) || !pkg.files.includes('dist'))
    problems.push(`${where}: "files" must include "dist"`);
  for (const script of ['build', 'test']) {
    if (!pkg.scripts?.[script]) problems.push(`${where}: missing a "${script}" script`);
  }
}
if (problems.length > 0) {
  console.error(`check-packages: ${problems.length} problem(s)\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `check-packages: ${checked} published package(s) have README, CHANGELOG, an exports map and ESM-only settings.`,
);
