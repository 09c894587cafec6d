// Kernels compiled to wasm SIMD by AssemblyScript (scripts/build-wasm.mjs). The module imports
// tfjs-backend-wasm's own memory, so every pointer is a byte offset into tfjs's heap: the
// kernels read tensors where tfjs keeps them and write into outputs tfjs allocated. The module
// must therefore own no memory at all: no static data, no allocations, no shadow stack (the
// build refuses a binary with a data section). Layouts are NHWC, float32, row-major.

// ---------------------------------------------------------------------------------------------
// Pooling gradients

/**
 * MaxPoolGrad: each output's gradient goes to the first maximum of its window (strictly greater
 * wins, so ties keep the first pixel, NaN and padding never win), as tfjs's cpu backend does.
 * Four channels at a time: the running maximum and its index are vectors.
 */
export function maxPoolGrad(
  x: usize,
  dy: usize,
  dx: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  channels: i32,
  outH: i32,
  outW: i32,
  effH: i32,
  effW: i32,
  strideH: i32,
  strideW: i32,
  dilH: i32,
  dilW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  const rowStride = inW * channels;
  const imageStride = inH * rowStride;
  memory.fill(dx, 0, (<usize>(batch * imageStride)) << 2);
  const vectorChannels = channels & ~3;
  let g = dy;
  for (let n = 0; n < batch; n++) {
    const image = n * imageStride;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padLeft;
        let c = 0;
        for (; c < vectorChannels; c += 4) {
          let best = f32x4.splat(-Infinity);
          let bestIndex = i32x4.splat(-1);
          for (let fh = 0; fh < effH; fh += dilH) {
            const h = hStart + fh;
            if (h < 0 || h >= inH) continue;
            for (let fw = 0; fw < effW; fw += dilW) {
              const w = wStart + fw;
              if (w < 0 || w >= inW) continue;
              const index = image + h * rowStride + w * channels + c;
              const value = v128.load(x + ((<usize>index) << 2));
              const wins = f32x4.gt(value, best);
              best = v128.bitselect(value, best, wins);
              const indices = i32x4.add(i32x4.splat(index), i32x4(0, 1, 2, 3));
              bestIndex = v128.bitselect(indices, bestIndex, wins);
            }
          }
          scatterLane(dx, g, c, i32x4.extract_lane(bestIndex, 0), 0);
          scatterLane(dx, g, c, i32x4.extract_lane(bestIndex, 1), 1);
          scatterLane(dx, g, c, i32x4.extract_lane(bestIndex, 2), 2);
          scatterLane(dx, g, c, i32x4.extract_lane(bestIndex, 3), 3);
        }
        for (; c < channels; c++) {
          let best: f32 = -Infinity;
          let bestIndex = -1;
          for (let fh = 0; fh < effH; fh += dilH) {
            const h = hStart + fh;
            if (h < 0 || h >= inH) continue;
            for (let fw = 0; fw < effW; fw += dilW) {
              const w = wStart + fw;
              if (w < 0 || w >= inW) continue;
              const index = image + h * rowStride + w * channels + c;
              const value = load<f32>(x + ((<usize>index) << 2));
              if (value > best) {
                best = value;
                bestIndex = index;
              }
            }
          }
          scatterLane(dx, g, c, bestIndex, 0);
        }
        g += (<usize>channels) << 2;
      }
    }
  }
}

function scatterLane(dx: usize, g: usize, c: i32, index: i32, lane: i32): void {
  if (index < 0) return;
  const at = dx + ((<usize>index) << 2);
  store<f32>(at, load<f32>(at) + load<f32>(g + ((<usize>(c + lane)) << 2)));
}

/**
 * AvgPoolGrad with tfjs's kernel semantics (the cpu backend's): every input pixel of a window
 * receives dy·multiplier, where the multiplier is 1 / (filterHeight·filterWidth) (padding
 * included). A scatter over windows, channels innermost.
 */
export function avgPoolGrad(
  dy: usize,
  dx: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  channels: i32,
  outH: i32,
  outW: i32,
  effH: i32,
  effW: i32,
  strideH: i32,
  strideW: i32,
  dilH: i32,
  dilW: i32,
  padTop: i32,
  padLeft: i32,
  multiplier: f32,
): void {
  const rowStride = inW * channels;
  const imageStride = inH * rowStride;
  memory.fill(dx, 0, (<usize>(batch * imageStride)) << 2);
  const vectorChannels = channels & ~3;
  const scale = f32x4.splat(multiplier);
  let g = dy;
  for (let n = 0; n < batch; n++) {
    const image = n * imageStride;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padLeft;
        for (let fh = 0; fh < effH; fh += dilH) {
          const h = hStart + fh;
          if (h < 0 || h >= inH) continue;
          for (let fw = 0; fw < effW; fw += dilW) {
            const w = wStart + fw;
            if (w < 0 || w >= inW) continue;
            const pixel = dx + ((<usize>(image + h * rowStride + w * channels)) << 2);
            let c = 0;
            for (; c < vectorChannels; c += 4) {
              const at = pixel + ((<usize>c) << 2);
              const add = f32x4.mul(v128.load(g + ((<usize>c) << 2)), scale);
              v128.store(at, f32x4.add(v128.load(at), add));
            }
            for (; c < channels; c++) {
              const at = pixel + ((<usize>c) << 2);
              store<f32>(at, load<f32>(at) + load<f32>(g + ((<usize>c) << 2)) * multiplier);
            }
          }
        }
        g += (<usize>channels) << 2;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Image patches

/**
 * im2col: patches of an NHWC input as `[batch·outH·outW, filterH·filterW·channels]`, tap-major
 * (column (i·filterW + j)·channels + c), zeros where a tap falls in the padding. Each tap is
 * one contiguous run of `channels` floats in the input and in the output; with dilation 1 the
 * taps of one filter row are one contiguous run of `filterW·channels` floats.
 */
export function im2col(
  x: usize,
  out: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  channels: i32,
  outH: i32,
  outW: i32,
  filterH: i32,
  filterW: i32,
  strideH: i32,
  strideW: i32,
  dilH: i32,
  dilW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  const rowStride = inW * channels;
  const imageStride = inH * rowStride;
  const rowBytes = (<usize>(filterW * channels)) << 2;
  const runBytes = (<usize>channels) << 2;
  let dst = out;
  for (let n = 0; n < batch; n++) {
    const image = x + ((<usize>(n * imageStride)) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padLeft;
        const inside = wStart >= 0 && wStart + (filterW - 1) * dilW < inW;
        for (let i = 0; i < filterH; i++) {
          const h = hStart + i * dilH;
          if (h < 0 || h >= inH) {
            memory.fill(dst, 0, rowBytes);
            dst += rowBytes;
            continue;
          }
          const src = image + ((<usize>(h * rowStride)) << 2);
          if (dilW === 1 && inside) {
            copyRun(dst, src + ((<usize>(wStart * channels)) << 2), rowBytes);
            dst += rowBytes;
            continue;
          }
          for (let j = 0; j < filterW; j++) {
            const w = wStart + j * dilW;
            if (w < 0 || w >= inW) memory.fill(dst, 0, runBytes);
            else copyRun(dst, src + ((<usize>(w * channels)) << 2), runBytes);
            dst += runBytes;
          }
        }
      }
    }
  }
}

/** Copies `bytes` (a multiple of 4): vectors for short runs, memory.copy for long ones. */
function copyRun(dst: usize, src: usize, bytes: usize): void {
  if (bytes >= 256) {
    memory.copy(dst, src, bytes);
    return;
  }
  let k: usize = 0;
  for (; k + 16 <= bytes; k += 16) v128.store(dst + k, v128.load(src + k));
  for (; k < bytes; k += 4) store<f32>(dst + k, load<f32>(src + k));
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates. Each reproduces, operation by operation in float32, what the unfused
// update of @tensorloop/core computes with tfjs ops (same constants, same order), so results
// are equal to the rounding of those ops.

/**
 * Adam / AdamW for one weight of `size` floats:
 *   g' = g + wd·θ (coupled), base = θ·decayFactor (decoupled; 1 = none)
 *   m = β1·m + (1−β1)·g' (m = (1−β1)·g' when `hasM` is 0), v likewise with g'·g'
 *   θ' = base − (m / (√v·invSqrtBc2 + eps))·stepSize
 */
export function adamUpdate(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  outParam: usize,
  outM: usize,
  outV: usize,
  size: i32,
  hasM: i32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  coupledDecay: f32,
  decayFactor: f32,
  invSqrtBc2: f32,
  eps: f32,
  stepSize: f32,
): void {
  const coupled = coupledDecay !== 0;
  const decoupled = decayFactor !== 1;
  const b1 = f32x4.splat(beta1);
  const ob1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2);
  const ob2 = f32x4.splat(oneMinusBeta2);
  const wd = f32x4.splat(coupledDecay);
  const df = f32x4.splat(decayFactor);
  const isb = f32x4.splat(invSqrtBc2);
  const ep = f32x4.splat(eps);
  const ss = f32x4.splat(stepSize);
  const vectorEnd = size & ~3;
  let i = 0;
  for (; i < vectorEnd; i += 4) {
    const at = (<usize>i) << 2;
    const p = v128.load(param + at);
    let g = v128.load(grad + at);
    if (coupled) g = f32x4.add(g, f32x4.mul(p, wd));
    const base = decoupled ? f32x4.mul(p, df) : p;
    let nm = f32x4.mul(g, ob1);
    let nv = f32x4.mul(f32x4.mul(g, g), ob2);
    if (hasM) {
      nm = f32x4.add(f32x4.mul(v128.load(m + at), b1), nm);
      nv = f32x4.add(f32x4.mul(v128.load(v + at), b2), nv);
    }
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(nv), isb), ep);
    v128.store(outM + at, nm);
    v128.store(outV + at, nv);
    v128.store(outParam + at, f32x4.sub(base, f32x4.mul(f32x4.div(nm, denom), ss)));
  }
  for (; i < size; i++) {
    const at = (<usize>i) << 2;
    const p = load<f32>(param + at);
    let g = load<f32>(grad + at);
    if (coupled) g = g + p * coupledDecay;
    const base = decoupled ? p * decayFactor : p;
    let nm = g * oneMinusBeta1;
    let nv = g * g * oneMinusBeta2;
    if (hasM) {
      nm = load<f32>(m + at) * beta1 + nm;
      nv = load<f32>(v + at) * beta2 + nv;
    }
    const denom = Mathf.sqrt(nv) * invSqrtBc2 + eps;
    store<f32>(outM + at, nm);
    store<f32>(outV + at, nv);
    store<f32>(outParam + at, base - (nm / denom) * stepSize);
  }
}

/**
 * SGD for one weight: g' = g + wd·θ; with momentum μ ≠ 0, b = μ·b + (1−τ)·g' (b = g' when
 * `hasBuffer` is 0) and g'' = nesterov ? g' + μ·b : b; θ' = θ − g''·lr. `outBuffer` is only
 * written when μ ≠ 0.
 */
export function sgdUpdate(
  param: usize,
  grad: usize,
  buffer: usize,
  outParam: usize,
  outBuffer: usize,
  size: i32,
  hasBuffer: i32,
  lr: f32,
  momentum: f32,
  oneMinusDampening: f32,
  weightDecay: f32,
  nesterov: i32,
): void {
  const decay = weightDecay !== 0;
  const withMomentum = momentum !== 0;
  const wd = f32x4.splat(weightDecay);
  const mu = f32x4.splat(momentum);
  const od = f32x4.splat(oneMinusDampening);
  const rate = f32x4.splat(lr);
  const vectorEnd = size & ~3;
  let i = 0;
  for (; i < vectorEnd; i += 4) {
    const at = (<usize>i) << 2;
    const p = v128.load(param + at);
    let g = v128.load(grad + at);
    if (decay) g = f32x4.add(g, f32x4.mul(p, wd));
    if (withMomentum) {
      const b = hasBuffer ? f32x4.add(f32x4.mul(v128.load(buffer + at), mu), f32x4.mul(g, od)) : g;
      v128.store(outBuffer + at, b);
      g = nesterov ? f32x4.add(g, f32x4.mul(b, mu)) : b;
    }
    v128.store(outParam + at, f32x4.sub(p, f32x4.mul(g, rate)));
  }
  for (; i < size; i++) {
    const at = (<usize>i) << 2;
    const p = load<f32>(param + at);
    let g = load<f32>(grad + at);
    if (decay) g = g + p * weightDecay;
    if (withMomentum) {
      const b = hasBuffer ? load<f32>(buffer + at) * momentum + g * oneMinusDampening : g;
      store<f32>(outBuffer + at, b);
      g = nesterov ? g + b * momentum : b;
    }
    store<f32>(outParam + at, p - g * lr);
  }
}

// ---------------------------------------------------------------------------------------------
// Transpose

/**
 * `[batch, rows, cols]` → `[batch, cols, rows]` (32-bit elements), in 32×32 tiles of 4×4 SIMD
 * blocks; the ragged edges element by element.
 */
export function transposeMatrices(src: usize, dst: usize, batch: i32, rows: i32, cols: i32): void {
  const size = rows * cols;
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  for (let b = 0; b < batch; b++) {
    const s = src + ((<usize>(b * size)) << 2);
    const d = dst + ((<usize>(b * size)) << 2);
    for (let i0 = 0; i0 < rows4; i0 += 32) {
      const i1 = min(i0 + 32, rows4);
      for (let j0 = 0; j0 < cols4; j0 += 32) {
        const j1 = min(j0 + 32, cols4);
        for (let i = i0; i < i1; i += 4) {
          for (let j = j0; j < j1; j += 4) {
            const from = s + ((<usize>(i * cols + j)) << 2);
            const rowBytes = (<usize>cols) << 2;
            const r0 = v128.load(from);
            const r1 = v128.load(from + rowBytes);
            const r2 = v128.load(from + 2 * rowBytes);
            const r3 = v128.load(from + 3 * rowBytes);
            const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
            const t1 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
            const t2 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
            const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
            const to = d + ((<usize>(j * rows + i)) << 2);
            const colBytes = (<usize>rows) << 2;
            v128.store(to, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
            v128.store(to + colBytes, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7));
            v128.store(to + 2 * colBytes, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5));
            v128.store(to + 3 * colBytes, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7));
          }
        }
      }
    }
    // Edges: the last rows % 4 rows (all columns) and the last cols % 4 columns (other rows).
    for (let i = rows4; i < rows; i++) {
      for (let j = 0; j < cols; j++)
        store<u32>(d + ((<usize>(j * rows + i)) << 2), load<u32>(s + ((<usize>(i * cols + j)) << 2)));
    }
    for (let i = 0; i < rows4; i++) {
      for (let j = cols4; j < cols; j++)
        store<u32>(d + ((<usize>(j * rows + i)) << 2), load<u32>(s + ((<usize>(i * cols + j)) << 2)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reductions

/**
 * Column sums of a `[rows, width]` float32 matrix: out[j] = Σ_i x[i, j], each column summed in
 * row order in float32 (the order of tfjs-backend-wasm's Sum, which transposes the reduced axes
 * innermost and adds sequentially). The bias gradient of every dense and conv layer.
 */
export function columnSum(x: usize, out: usize, rows: i32, width: i32): void {
  memory.fill(out, 0, (<usize>width) << 2);
  const vectorWidth = width & ~3;
  const rowBytes = (<usize>width) << 2;
  for (let i = 0; i < rows; i++) {
    const row = x + <usize>i * rowBytes;
    let j = 0;
    for (; j < vectorWidth; j += 4) {
      const at = out + ((<usize>j) << 2);
      v128.store(at, f32x4.add(v128.load(at), v128.load(row + ((<usize>j) << 2))));
    }
    for (; j < width; j++) {
      const at = out + ((<usize>j) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(row + ((<usize>j) << 2)));
    }
  }
}
