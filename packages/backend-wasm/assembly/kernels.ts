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
  const vectorChannels = channels & ~3;
  const disjoint = strideH >= effH && strideW >= effW;
  // Windows that tile the input (2×2 stride 2 on an even size) write every pixel of it: the
  // masked stores leave zeros where no maximum is, so dx needs no clearing first.
  const tiles =
    disjoint &&
    vectorChannels === channels &&
    strideH === effH &&
    strideW === effW &&
    dilH === 1 &&
    dilW === 1 &&
    outH * strideH - padTop >= inH &&
    outW * strideW - padLeft >= inW;
  const exact2x2 = effH === 2 && effW === 2 && padTop === 0 && padLeft === 0;
  if (tiles && exact2x2 && inH === 2 * outH && inW === 2 * outW) {
    maxPoolGrad2x2(x, dy, dx, batch * outH, outW, channels);
    return;
  }
  if (!tiles) memory.fill(dx, 0, (<usize>(batch * imageStride)) << 2);
  let g = dy;
  for (let n = 0; n < batch; n++) {
    const image = n * imageStride;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padLeft;
        let c = 0;
        if (disjoint) {
          for (; c < vectorChannels; c += 4) {
            disjointWindowGrad(
              x,
              g,
              dx,
              image,
              hStart,
              wStart,
              c,
              inH,
              inW,
              channels,
              effH,
              effW,
              dilH,
              dilW,
            );
          }
        }
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

/**
 * MaxPoolGrad of 2×2 windows with stride 2 tiling an input of `2·rows` image rows (all images)
 * × `2·outW` columns, channels a multiple of 4: the same first-maximum choice as the general
 * loop, unrolled, with no bounds to check.
 */
function maxPoolGrad2x2(x: usize, dy: usize, dx: usize, rows: i32, outW: i32, channels: i32): void {
  const pixelBytes = (<usize>channels) << 2;
  const rowBytes = <usize>(2 * outW) * pixelBytes;
  const lowest = f32x4.splat(-Infinity);
  const none = i32x4.splat(-1);
  const t1 = i32x4.splat(1);
  const t2 = i32x4.splat(2);
  const t3 = i32x4.splat(3);
  let g = dy;
  for (let r = 0; r < rows; r++) {
    const top = x + <usize>r * 2 * rowBytes;
    const dTop = dx + <usize>r * 2 * rowBytes;
    for (let ow = 0; ow < outW; ow++) {
      const p00 = top + <usize>(2 * ow) * pixelBytes;
      const p01 = p00 + pixelBytes;
      const p10 = p00 + rowBytes;
      const p11 = p10 + pixelBytes;
      const d00 = dTop + <usize>(2 * ow) * pixelBytes;
      const d01 = d00 + pixelBytes;
      const d10 = d00 + rowBytes;
      const d11 = d10 + pixelBytes;
      for (let c: usize = 0; c < pixelBytes; c += 16) {
        const v0 = v128.load(p00 + c);
        const w0 = f32x4.gt(v0, lowest);
        let best = v128.bitselect(v0, lowest, w0);
        let tap = v128.andnot(none, w0); // 0 where the first pixel won, −1 where none did yet
        const v1 = v128.load(p01 + c);
        const w1 = f32x4.gt(v1, best);
        best = v128.bitselect(v1, best, w1);
        tap = v128.bitselect(t1, tap, w1);
        const v2 = v128.load(p10 + c);
        const w2 = f32x4.gt(v2, best);
        best = v128.bitselect(v2, best, w2);
        tap = v128.bitselect(t2, tap, w2);
        const v3 = v128.load(p11 + c);
        const w3 = f32x4.gt(v3, best);
        tap = v128.bitselect(t3, tap, w3);
        const grad = v128.load(g + c);
        v128.store(d00 + c, v128.and(grad, i32x4.eq(tap, i32x4.splat(0))));
        v128.store(d01 + c, v128.and(grad, i32x4.eq(tap, t1)));
        v128.store(d10 + c, v128.and(grad, i32x4.eq(tap, t2)));
        v128.store(d11 + c, v128.and(grad, i32x4.eq(tap, t3)));
      }
      g += pixelBytes;
    }
  }
}

/**
 * Four channels of one window that shares no pixel with another (stride ≥ window): each pixel
 * receives at most one gradient, so the first maximum's tap is found first and the gradient is
 * then stored, masked, at every tap of the window — no scalar scatter.
 */
function disjointWindowGrad(
  x: usize,
  g: usize,
  dx: usize,
  image: i32,
  hStart: i32,
  wStart: i32,
  c: i32,
  inH: i32,
  inW: i32,
  channels: i32,
  effH: i32,
  effW: i32,
  dilH: i32,
  dilW: i32,
): void {
  const rowStride = inW * channels;
  let best = f32x4.splat(-Infinity);
  let bestTap = i32x4.splat(-1);
  let tap = 0;
  for (let fh = 0; fh < effH; fh += dilH) {
    const h = hStart + fh;
    for (let fw = 0; fw < effW; fw += dilW) {
      const w = wStart + fw;
      if (h >= 0 && h < inH && w >= 0 && w < inW) {
        const value = v128.load(x + ((<usize>(image + h * rowStride + w * channels + c)) << 2));
        const wins = f32x4.gt(value, best);
        best = v128.bitselect(value, best, wins);
        bestTap = v128.bitselect(i32x4.splat(tap), bestTap, wins);
      }
      tap++;
    }
  }
  const grad = v128.load(g + ((<usize>c) << 2));
  tap = 0;
  for (let fh = 0; fh < effH; fh += dilH) {
    const h = hStart + fh;
    for (let fw = 0; fw < effW; fw += dilW) {
      const w = wStart + fw;
      if (h >= 0 && h < inH && w >= 0 && w < inW) {
        const at = dx + ((<usize>(image + h * rowStride + w * channels + c)) << 2);
        v128.store(at, v128.and(grad, i32x4.eq(bestTap, i32x4.splat(tap))));
      }
      tap++;
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
// Products

/** Rows of a and b per pass: one chunk of both stays in cache while every block reads it. */
const CHUNK_ROWS = 256;

/**
 * out = aᵀ·b for a `[rows, m]` and b `[rows, n]` (row-major), without transposing either: the
 * filter gradient patchesᵀ·dy of a conv with few input columns, where the long shared dimension
 * (batch·outH·outW) makes XNNPACK's product need two transposes and a packing of the long
 * operand. Blocks of 4 rows × 8 columns of `out` are held in registers while a chunk of rows
 * streams by; every element is summed over r in increasing order, in float32.
 */
export function matmulTransposeA(a: usize, b: usize, out: usize, rows: i32, m: i32, n: i32): void {
  memory.fill(out, 0, (<usize>(m * n)) << 2);
  const m4 = m & ~3;
  const n8 = n & ~7;
  const n4 = n & ~3;
  for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
    const r1 = min(r0 + CHUNK_ROWS, rows);
    for (let j = 0; j < n8; j += 8) {
      let i = 0;
      for (; i < m4; i += 4) block4x8(a, b, out, r0, r1, i, j, m, n);
      for (; i < m; i++) block1x8(a, b, out, r0, r1, i, j, m, n);
    }
    if (n4 > n8) {
      for (let i = 0; i < m; i++) block1x4(a, b, out, r0, r1, i, n8, m, n);
    }
    for (let j = n4; j < n; j++) {
      for (let i = 0; i < m; i++) {
        const at = out + ((<usize>(i * n + j)) << 2);
        let acc = load<f32>(at);
        for (let r = r0; r < r1; r++) {
          acc += load<f32>(a + ((<usize>(r * m + i)) << 2)) * load<f32>(b + ((<usize>(r * n + j)) << 2));
        }
        store<f32>(at, acc);
      }
    }
  }
}

function block4x8(a: usize, b: usize, out: usize, r0: i32, r1: i32, i: i32, j: i32, m: i32, n: i32): void {
  const rowBytes = (<usize>n) << 2;
  const o0 = out + ((<usize>(i * n + j)) << 2);
  const o1 = o0 + rowBytes;
  const o2 = o1 + rowBytes;
  const o3 = o2 + rowBytes;
  let c00 = v128.load(o0);
  let c01 = v128.load(o0 + 16);
  let c10 = v128.load(o1);
  let c11 = v128.load(o1 + 16);
  let c20 = v128.load(o2);
  let c21 = v128.load(o2 + 16);
  let c30 = v128.load(o3);
  let c31 = v128.load(o3 + 16);
  let pa = a + ((<usize>(r0 * m + i)) << 2);
  let pb = b + ((<usize>(r0 * n + j)) << 2);
  const strideA = (<usize>m) << 2;
  for (let r = r0; r < r1; r++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb + 16);
    const av = v128.load(pa);
    const a0 = f32x4.splat(f32x4.extract_lane(av, 0));
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    const a1 = f32x4.splat(f32x4.extract_lane(av, 1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    const a2 = f32x4.splat(f32x4.extract_lane(av, 2));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    const a3 = f32x4.splat(f32x4.extract_lane(av, 3));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    pa += strideA;
    pb += rowBytes;
  }
  v128.store(o0, c00);
  v128.store(o0 + 16, c01);
  v128.store(o1, c10);
  v128.store(o1 + 16, c11);
  v128.store(o2, c20);
  v128.store(o2 + 16, c21);
  v128.store(o3, c30);
  v128.store(o3 + 16, c31);
}

function block1x8(a: usize, b: usize, out: usize, r0: i32, r1: i32, i: i32, j: i32, m: i32, n: i32): void {
  const o0 = out + ((<usize>(i * n + j)) << 2);
  let c0 = v128.load(o0);
  let c1 = v128.load(o0 + 16);
  let pa = a + ((<usize>(r0 * m + i)) << 2);
  let pb = b + ((<usize>(r0 * n + j)) << 2);
  const strideA = (<usize>m) << 2;
  const strideB = (<usize>n) << 2;
  for (let r = r0; r < r1; r++) {
    const s = v128.load32_splat(pa);
    c0 = f32x4.add(c0, f32x4.mul(s, v128.load(pb)));
    c1 = f32x4.add(c1, f32x4.mul(s, v128.load(pb + 16)));
    pa += strideA;
    pb += strideB;
  }
  v128.store(o0, c0);
  v128.store(o0 + 16, c1);
}

function block1x4(a: usize, b: usize, out: usize, r0: i32, r1: i32, i: i32, j: i32, m: i32, n: i32): void {
  const o0 = out + ((<usize>(i * n + j)) << 2);
  let c0 = v128.load(o0);
  let pa = a + ((<usize>(r0 * m + i)) << 2);
  let pb = b + ((<usize>(r0 * n + j)) << 2);
  const strideA = (<usize>m) << 2;
  const strideB = (<usize>n) << 2;
  for (let r = r0; r < r1; r++) {
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(pa), v128.load(pb)));
    pa += strideA;
    pb += strideB;
  }
  v128.store(o0, c0);
}

// ---------------------------------------------------------------------------------------------
// Elementwise

/**
 * out[r, j] = a[r, j] + b[j] for a `[rows, width]` and b `[width]`: a bias added to every row (the
 * dense and conv layers' bias in training, where tfjs does not fuse it), which tfjs-backend-wasm
 * runs through its generic broadcasting loop. float32 addition, so the result is exact-equal.
 */
export function addRows(a: usize, b: usize, out: usize, rows: i32, width: i32): void {
  const w4 = width & ~3;
  const rowBytes = (<usize>width) << 2;
  let pa = a;
  let po = out;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < w4; j += 4) {
      const at = (<usize>j) << 2;
      v128.store(po + at, f32x4.add(v128.load(pa + at), v128.load(b + at)));
    }
    for (; j < width; j++) {
      const at = (<usize>j) << 2;
      store<f32>(po + at, load<f32>(pa + at) + load<f32>(b + at));
    }
    pa += rowBytes;
    po += rowBytes;
  }
}

/**
 * The relu gradient out = dy·step(x) in one pass, with tfjs's step (1 for x > 0, 0 otherwise,
 * NaN for NaN) and the same float32 product, so the result is identical to Step then Multiply.
 */
export function reluGrad(dy: usize, x: usize, out: usize, size: i32): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const s4 = size & ~3;
  let i = 0;
  for (; i < s4; i += 4) {
    const at = (<usize>i) << 2;
    const v = v128.load(x + at);
    let step = v128.bitselect(one, zero, f32x4.gt(v, zero));
    step = v128.bitselect(v, step, f32x4.ne(v, v));
    v128.store(out + at, f32x4.mul(v128.load(dy + at), step));
  }
  for (; i < size; i++) {
    const at = (<usize>i) << 2;
    const v = load<f32>(x + at);
    const step: f32 = v > 0 ? 1 : v <= 0 ? 0 : v; // NaN fails both comparisons
    store<f32>(out + at, load<f32>(dy + at) * step);
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

/**
 * 1 when any of the `size` float32 values at x is NaN or ±Inf, else 0: the finite check of
 * @tensorloop/core's non-finite watch, one read of each gradient and no temporary. A float is
 * non-finite exactly when its exponent bits are all ones, i.e. when its bits without the sign
 * are ≥ 0x7f800000; the loop keeps the largest such value per lane (integer ops only).
 */
export function nonFinite(x: usize, size: i32): i32 {
  const magnitude = i32x4.splat(0x7fffffff);
  let largest = i32x4.splat(0);
  const s4 = size & ~3;
  let i = 0;
  for (; i < s4; i += 4) {
    largest = i32x4.max_s(largest, v128.and(v128.load(x + ((<usize>i) << 2)), magnitude));
  }
  let tail: i32 = 0;
  for (; i < size; i++) {
    const bits = load<i32>(x + ((<usize>i) << 2)) & 0x7fffffff;
    if (bits > tail) tail = bits;
  }
  const top = max(
    max(i32x4.extract_lane(largest, 0), i32x4.extract_lane(largest, 1)),
    max(max(i32x4.extract_lane(largest, 2), i32x4.extract_lane(largest, 3)), tail),
  );
  return top >= 0x7f800000 ? 1 : 0;
}
