// Finding Chromium and serving the built page (as packages/report's browser test does).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

/** Debian's Chromium (or $CHROMIUM); under CI=true a missing binary fails instead of skipping. */
export function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p) => typeof p === 'string' && p.length > 0,
  );
  const found = candidates.find((p) => existsSync(p));
  const ci = process.env.CI === 'true';
  const why = `no Chromium at ${candidates.join(' or ')} (apt-get install -y chromium, or set CHROMIUM=/path)`;
  return { path: found, skip: !found && !ci, why };
}

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** Serves `dir` on 127.0.0.1 (a secure context, so WebCrypto and OPFS are there). */
export async function serveDirectory(dir) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
