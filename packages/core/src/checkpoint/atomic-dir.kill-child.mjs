// Child process of atomic-dir.kill.test.ts: writes checkpoints to one directory until it is killed.
//
//   node atomic-dir.kill-child.mjs <compiled atomic-dir.mjs> <checkpoint dir>   (first counter on stdin)
//
// Prints `ready` once it has its first counter and `committed <n> <ms>` after each write returns. The content of every
// file is derived from the counter <n>, so the parent can check a checkpoint for consistency.
import { pathToFileURL } from 'node:url';

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;

/** Sizes and bytes of checkpoint n; shared with the parent, which rebuilds them to compare. */
export function checkpointFiles(n) {
  return {
    'model/weights.bin': pattern(2 * 1024 * 1024 + (n % 7) * 64 * 1024, n, 0x9e3779b1),
    'optimizer.bin': pattern(1024 * 1024 + (n % 5) * 32 * 1024, n, 0x85ebca77),
    'trainer.json': JSON.stringify({ counter: n, step: n * 10 }),
  };
}

/** Bytes derived from (n, salt): a 64 KiB block repeated, each copy stamped with n and its index. */
function pattern(bytes, n, salt) {
  const block = new Uint32Array(16 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (Math.imul(i, salt) ^ n) >>> 0;
  const words = new Uint32Array(bytes / 4);
  for (let offset = 0, index = 0; offset < words.length; offset += block.length, index++) {
    block[0] = n;
    block[1] = index;
    words.set(block.subarray(0, Math.min(block.length, words.length - offset)), offset);
  }
  return new Uint8Array(words.buffer);
}

// Imported by the parent for `checkpointFiles` only; run as a script, it writes.
if (isMain) {
  const [modulePath, dir] = process.argv.slice(2);
  const { writeCheckpointDir } = await import(pathToFileURL(modulePath).href);
  // Never outlive a parent that died without killing us.
  setTimeout(() => process.exit(3), 60_000).unref();
  // The parent starts us ahead of time and sends the first counter when it is our turn.
  const first = await firstLine(process.stdin);
  process.stdout.write('ready\n');
  for (let n = Number(first); ; n++) {
    const files = checkpointFiles(n);
    const start = performance.now();
    await writeCheckpointDir(dir, files);
    process.stdout.write(`committed ${n} ${(performance.now() - start).toFixed(1)}\n`);
  }
}

async function firstLine(stream) {
  let text = '';
  for await (const chunk of stream.setEncoding('utf8')) {
    text += chunk;
    if (text.includes('\n')) return text.slice(0, text.indexOf('\n'));
  }
  process.exit(0); // the parent closed stdin without giving us a turn
}
