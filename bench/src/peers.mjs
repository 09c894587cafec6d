// Issue 21: the benchmark MLP and CNN in tensorloop (wasm + @tensorloop/backend-wasm, Trainer.fit)
// and in PyTorch, JAX (+optax) and Keras 3 on TensorFlow, CPU, 1 and 2 threads. One long-lived
// process per framework and thread count (bench/peers/peer.py, lib/speed-child.mjs), taking turns
// so only one computes at a time. Writes bench/results/peers.{json,md}. Not part of `test`.
//
//   python3 -m venv ~/.cache/tensorloop/peers-venv
//   ~/.cache/tensorloop/peers-venv/bin/pip install -r bench/peers/requirements.txt
//   node bench/src/peers.mjs                # after a build
//   node bench/src/peers.mjs --render       # re-render peers.md from peers.json
//
// TL_PEERS_PYTHON overrides the interpreter; without one the script records why it skipped.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './lib/machine.mjs';
import { benchDir, commandLine, envInt, resultsDir, sig } from './lib/results.mjs';
import { median, quantile } from './lib/stats.mjs';
import { TurnProcess } from './lib/turns.mjs';

const NAME = 'peers';
const python =
  process.env.TL_PEERS_PYTHON ??
  path.join(os.homedir(), '.cache', 'tensorloop', 'peers-venv', 'bin', 'python');
const peerScript = path.join(benchDir, 'peers', 'peer.py');
const speedChild = fileURLToPath(new URL('./lib/speed-child.mjs', import.meta.url));
const WORKLOADS = [
  { id: 'mlp', kind: 'mlp', batch: 128, title: 'MLP 784-256-128-10, batch 128' },
  { id: 'cnn', kind: 'cnn', batch: 64, title: 'CNN conv16-pool-conv32-pool-dense10, batch 64' },
];
const FRAMEWORKS = [
  {
    id: 'tensorloop',
    title: 'tensorloop (wasm + @tensorloop/backend-wasm, Trainer.fit, core adam)',
    threads: 1,
  },
  {
    id: 'tensorloop',
    title: 'tensorloop + `dataParallel({ workers: 2 })` (main thread + one worker thread)',
    threads: 2,
  },
  { id: 'torch', title: 'PyTorch CPU', threads: 1 },
  { id: 'torch', title: 'PyTorch CPU', threads: 2 },
  { id: 'jax', title: 'JAX + optax CPU', threads: 1 },
  { id: 'jax', title: 'JAX + optax CPU', threads: 2 },
  { id: 'keras', title: 'Keras 3 on TensorFlow CPU', threads: 1 },
  { id: 'keras', title: 'Keras 3 on TensorFlow CPU', threads: 2 },
];
const key = (f) => `${f.id}-${f.threads}`;

function pinned(threads, command, args) {
  // tensorloop is pinned like the peers (peer.py pins itself), so "1 thread" means one core for all.
  return existsSync('/usr/bin/taskset')
    ? ['/usr/bin/taskset', ['-c', threads === 1 ? '0' : '0,1', command, ...args]]
    : [command, args];
}

function spawnFramework(f) {
  if (f.id === 'tensorloop') {
    const [cmd, args] = pinned(f.threads, process.execPath, [speedChild]);
    return new TurnProcess(key(f), cmd, args);
  }
  return new TurnProcess(key(f), python, [peerScript, f.id, String(f.threads)]);
}

function rotate(list, k) {
  return list.map((_, i) => list[(i + k) % list.length]);
}

async function measure() {
  const reps = envInt('TL_BENCH_REPS', 5);
  const targetMs = envInt('TL_BENCH_EPOCH_MS', 1000);
  const start = { date: new Date().toISOString(), loadAverage: os.loadavg() };
  const procs = {};
  const info = {};
  for (const f of FRAMEWORKS) {
    procs[key(f)] = spawnFramework(f);
    info[key(f)] = await procs[key(f)].request({ op: 'init' });
  }
  const steps = {};
  const runs = {};
  for (const w of WORKLOADS) {
    steps[w.id] = {};
    runs[w.id] = {};
    for (const f of FRAMEWORKS) {
      const p = procs[key(f)];
      const prepared = await p.request({
        op: 'prepare',
        id: w.id,
        kind: w.kind,
        batch: w.batch,
        samples: 60000,
        optimizer: 'core-adam',
        workers: f.id === 'tensorloop' ? f.threads : undefined,
      });
      info[key(f)][w.id] = prepared;
      await p.request({ op: 'fit', id: w.id, steps: 5 }); // compile / JIT warm-up
      const probe = await p.request({ op: 'fit', id: w.id, steps: 10 });
      steps[w.id][key(f)] = Math.max(10, Math.min(2000, Math.round((targetMs / probe.wallMs) * 10)));
      runs[w.id][key(f)] = [];
      console.log(`${w.id} ${key(f)}: ${steps[w.id][key(f)]} steps per run`);
    }
  }
  for (let round = 0; round < reps; round++) {
    for (const w of WORKLOADS) {
      for (const f of rotate(FRAMEWORKS, round)) {
        runs[w.id][key(f)].push(
          await procs[key(f)].request({ op: 'fit', id: w.id, steps: steps[w.id][key(f)] }),
        );
      }
    }
    console.log(`round ${round + 1}/${reps}, load ${os.loadavg()[0].toFixed(2)}`);
  }
  const end = { date: new Date().toISOString(), loadAverage: os.loadavg() };
  for (const p of Object.values(procs)) await p.close();
  return {
    name: NAME,
    command: commandLine(),
    machine: describeMachine('wasm'),
    start,
    end,
    info,
    steps,
    runs,
  };
}

const rate = (r, clock) => (r.steps / r[clock]) * 1000;

function render(r) {
  const la = (l) => l.map((v) => v.toFixed(2)).join(' / ');
  const lines = ['# tensorloop against PyTorch, JAX and Keras on the CPU (issue 21)', ''];
  lines.push(
    `Command: \`${r.command}\` (after \`npx -y pnpm@10 build\`, with the peer frameworks in a virtualenv: see \`bench/peers/README.md\`), ${r.start.date}.`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, tfjs ${r.machine.tfjs}. 1/5/15-minute load average **${la(r.start.loadAverage)}** at the start and **${la(r.end.loadAverage)}** at the end${r.start.loadAverage[0] > 2.5 || r.end.loadAverage[0] > 2.5 ? ": the two cores were shared with other engineers' jobs, so absolute rates are below an idle machine's and the 2-thread figures are unreliable (a second core was rarely free)" : ' (a quiet machine: the benchmark itself keeps about one core busy, two in the 2-thread runs)'}.`,
    '',
    `Versions: ${Object.entries(r.info)
      .filter(([k]) => !k.startsWith('tensorloop'))
      .filter(([k]) => k.endsWith('-1'))
      .map(
        ([k, v]) =>
          `${k.replace(/-1$/, '')} ${v.mlp?.version ?? '?'}${v.mlp?.tensorflow ? ` (TensorFlow ${v.mlp.tensorflow})` : ''}${v.mlp?.optax ? ` (optax ${v.mlp.optax})` : ''}`,
      )
      .join(', ')}.`,
    '',
    'Each framework and thread count is one long-lived process; they take turns (one computes at a time), each round runs every process once per workload in a rotating order, after a compile/JIT warm-up. A run is a fixed number of Adam(1e-3) steps on shuffled batches of 60,000 MNIST-shaped samples (tensorloop: `Trainer.fit` with `stepsPerEpoch`, `checkData: false`; PyTorch: the usual `zero_grad`/`backward`/`step` loop; JAX: one `jax.jit` step with optax; Keras: `model.fit`). "1 thread" processes are pinned to one core (`sched_setaffinity` / `taskset`) and their thread pools set to 1; "2 threads" to both cores and 2. One-thread rates are per second of **process CPU time** (robust on a shared machine); two-thread rates and the thread speed-up are per second of **wall time** (CPU time cannot show parallel speed-up). Figures are medians over rounds; ratios are medians of per-round ratios.',
    '',
  );
  for (const w of WORKLOADS) {
    const runs = r.runs[w.id];
    const tl = runs['tensorloop-1'];
    lines.push(`## ${w.title}`, '');
    lines.push(
      '| framework | threads | steps/s (1 thread: CPU time) | steps/s (wall) | tensorloop ÷ this (CPU time, 1 thread) | 2 threads ÷ 1 thread (wall) |',
      '|---|---|---|---|---|---|',
    );
    for (const f of FRAMEWORKS) {
      const k = key(f);
      const mine = runs[k];
      const cpuRate = f.threads === 1 ? sig(median(mine.map((x) => rate(x, 'cpuMs')))) : '—';
      const wallRate = sig(median(mine.map((x) => rate(x, 'wallMs'))));
      let vs = '—';
      if (f.threads === 1 && f.id !== 'tensorloop') {
        const ratios = mine.map((x, i) => rate(tl[i], 'cpuMs') / rate(x, 'cpuMs'));
        vs = `**${median(ratios).toFixed(2)}×** (${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)})`;
      }
      let speedup = '—';
      if (f.threads === 2) {
        const one = runs[`${f.id}-1`];
        const ratios = mine.map((x, i) => rate(x, 'wallMs') / rate(one[i], 'wallMs'));
        speedup = `${median(ratios).toFixed(2)}×`;
      }
      lines.push(`| ${f.title} | ${f.threads} | ${cpuRate} | ${wallRate} | ${vs} | ${speedup} |`);
    }
    lines.push('');
  }
  lines.push(
    "tensorloop's 2-thread row is `@tensorloop/data-parallel` (tfjs-backend-wasm itself has no threads in Node): each batch split between the main thread and a worker thread with its own wasm instance, one optimizer step; its wall time counts the steps after the first (the worker thread starts at each fit, about 0.3 s, outside them, as in `data-parallel.md`, which has its own benchmark and a ceiling for it).",
    '',
  );
  return `${lines.join('\n')}\n`;
}

async function main() {
  const out = resultsDir();
  let results;
  if (process.argv.includes('--render')) {
    results = JSON.parse(readFileSync(path.join(out, `${NAME}.json`), 'utf8'));
  } else if (!existsSync(python)) {
    console.log(
      `peers: skipped, no Python with the peer frameworks at ${python} (see bench/peers/README.md)`,
    );
    return;
  } else {
    results = await measure();
    await writeFile(path.join(out, `${NAME}.json`), `${JSON.stringify(results, null, 1)}\n`);
  }
  const text = render(results);
  await writeFile(path.join(out, `${NAME}.md`), text);
  console.log(text);
}

await main();
