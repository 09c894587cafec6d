import { describe, expect, it } from 'vitest';
import { maxAbs, randomValues, relativeError, runKernelOn, sizeOf, type TensorSpec } from './test-helpers.js';

/**
 * Each gradient kernel of this package against the cpu backend's kernel of the same name, on the
 * same random inputs, over shapes, strides, paddings, dilations and layouts.
 */

type Pad = 'valid' | 'same' | number | number[][];

interface ConvCase {
  name: string;
  x: [number, number, number, number]; // NHWC
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dilations?: [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
}

/** Output spatial size of the forward op (same rules as tfjs' conv_util, floor rounding). */
function outSize(input: number, filter: number, stride: number, dilation: number, pad: Pad, axis: 0 | 1) {
  const effective = (filter - 1) * dilation + 1;
  if (pad === 'same') return Math.ceil(input / stride);
  if (pad === 'valid') return Math.ceil((input - effective + 1) / stride);
  const [before, after] =
    typeof pad === 'number' ? [pad, pad] : ((pad[axis + 1] as [number, number]) ?? [0, 0]);
  return Math.floor((input + before + after - effective) / stride) + 1;
}

function dyShape(c: ConvCase, outChannels: number): [number, number, number, number] {
  const [n, h, w] = c.x;
  const [fh, fw] = c.filter;
  const [dh, dw] = c.dilations ?? [1, 1];
  return [
    n,
    outSize(h, fh, c.strides[0], dh, c.pad, 0),
    outSize(w, fw, c.strides[1], dw, c.pad, 1),
    outChannels,
  ];
}

function nchw(shape: readonly number[]): number[] {
  const [n, h, w, c] = shape as [number, number, number, number];
  return [n, c, h, w];
}

const convCases: ConvCase[] = [
  { name: '3x3 stride 1 same', x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { name: '3x3 stride 1 valid', x: [2, 9, 7, 2], filter: [3, 3, 2, 5], strides: [1, 1], pad: 'valid' },
  {
    name: '3x3 stride 2 same, odd input',
    x: [3, 7, 9, 4],
    filter: [3, 3, 4, 6],
    strides: [2, 2],
    pad: 'same',
  },
  {
    name: '3x3 stride 2 valid, remainder',
    x: [2, 10, 8, 3],
    filter: [3, 3, 3, 2],
    strides: [2, 2],
    pad: 'valid',
  },
  { name: '5x5 stride 3 same', x: [1, 13, 11, 2], filter: [5, 5, 2, 3], strides: [3, 3], pad: 'same' },
  { name: '2x4 stride (2,1) same', x: [2, 8, 9, 3], filter: [2, 4, 3, 4], strides: [2, 1], pad: 'same' },
  { name: '1x1 stride 1 valid', x: [4, 5, 5, 6], filter: [1, 1, 6, 3], strides: [1, 1], pad: 'valid' },
  { name: '1x1 stride 2 valid', x: [2, 6, 6, 2], filter: [1, 1, 2, 3], strides: [2, 2], pad: 'valid' },
  {
    name: '1-channel input (first layer)',
    x: [4, 12, 12, 1],
    filter: [3, 3, 1, 8],
    strides: [1, 1],
    pad: 'same',
  },
  { name: 'conv1d-shaped 1x5', x: [3, 1, 20, 4], filter: [1, 5, 4, 6], strides: [1, 2], pad: 'same' },
  { name: 'numeric pad 1', x: [2, 6, 7, 3], filter: [3, 3, 3, 2], strides: [1, 1], pad: 1 },
  {
    name: 'explicit asymmetric pad, stride 2',
    x: [2, 7, 6, 2],
    filter: [3, 2, 2, 3],
    strides: [2, 2],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  // im2col paths: channel runs that are not a multiple of 4, filter rows of ≥ 256 bytes (bulk
  // copy), taps clipped by the left and right borders, and the CNN benchmark's two layers.
  { name: '5 channels, 3x3 same', x: [2, 6, 7, 5], filter: [3, 3, 5, 3], strides: [1, 1], pad: 'same' },
  { name: '64 channels, 3x3 same', x: [1, 5, 6, 64], filter: [3, 3, 64, 8], strides: [1, 1], pad: 'same' },
  {
    name: '7x7 stride 2 same, wide pad',
    x: [1, 9, 10, 3],
    filter: [7, 7, 3, 4],
    strides: [2, 2],
    pad: 'same',
  },
  { name: 'filter wider than input', x: [2, 4, 3, 2], filter: [3, 5, 2, 3], strides: [1, 1], pad: 'same' },
  {
    name: 'benchmark conv1 28x28x1→16',
    x: [4, 28, 28, 1],
    filter: [3, 3, 1, 16],
    strides: [1, 1],
    pad: 'same',
  },
  {
    name: 'benchmark conv2 14x14x16→32',
    x: [4, 14, 14, 16],
    filter: [3, 3, 16, 32],
    strides: [1, 1],
    pad: 'same',
  },
  {
    name: 'more outputs than columns',
    x: [2, 6, 6, 2],
    filter: [2, 2, 2, 12],
    strides: [1, 1],
    pad: 'valid',
  },
  // Filter gradients past the compiled product's 576 columns go to XNNPACK, both operand orders.
  {
    name: '648 columns (XNNPACK filter gradient)',
    x: [2, 6, 6, 72],
    filter: [3, 3, 72, 8],
    strides: [1, 1],
    pad: 'same',
  },
  {
    name: '630 columns, more outputs (XNNPACK, dyᵀ·patches)',
    x: [1, 5, 5, 70],
    filter: [3, 3, 70, 640],
    strides: [1, 1],
    pad: 'valid',
  },
  {
    name: 'NCHW 3x3 stride 2 same',
    x: [2, 8, 7, 3],
    filter: [3, 3, 3, 4],
    strides: [2, 2],
    pad: 'same',
    dataFormat: 'NCHW',
  },
];

function spec(shape: number[], seed: number): TensorSpec {
  return { shape, values: randomValues(sizeOf(shape), seed) };
}

async function expectSameOnBothBackends(
  kernel: string,
  inputs: Record<string, TensorSpec>,
  attrs: Record<string, unknown>,
) {
  const cpu = await runKernelOn('cpu', kernel, inputs, attrs);
  const wasm = await runKernelOn('wasm', kernel, inputs, attrs);
  expect(wasm.shape).toEqual(cpu.shape);
  expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  // Guard against comparing two all-zero results.
  expect(maxAbs(cpu.values)).toBeGreaterThan(0);
}

describe('Conv2DBackpropFilter on wasm equals cpu', () => {
  it.each(convCases)('$name', async (c) => {
    const dy = dyShape(c, c.filter[3]);
    const channelsFirst = c.dataFormat === 'NCHW';
    await expectSameOnBothBackends(
      'Conv2DBackpropFilter',
      { x: spec(channelsFirst ? nchw(c.x) : c.x, 11), dy: spec(channelsFirst ? nchw(dy) : dy, 12) },
      { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', filterShape: c.filter },
    );
  });
});

describe('Conv2DBackpropInput on wasm equals cpu', () => {
  it.each(convCases)('$name', async (c) => {
    const dy = dyShape(c, c.filter[3]);
    const channelsFirst = c.dataFormat === 'NCHW';
    await expectSameOnBothBackends(
      'Conv2DBackpropInput',
      { dy: spec(channelsFirst ? nchw(dy) : dy, 21), filter: spec(c.filter, 22) },
      {
        strides: c.strides,
        pad: c.pad,
        dataFormat: c.dataFormat ?? 'NHWC',
        inputShape: channelsFirst ? nchw(c.x) : c.x,
      },
    );
  });
});

const depthwiseCases: ConvCase[] = [
  { name: '3x3 mult 1 stride 1 same', x: [2, 8, 8, 3], filter: [3, 3, 3, 1], strides: [1, 1], pad: 'same' },
  { name: '3x3 mult 2 stride 2 same', x: [2, 9, 7, 4], filter: [3, 3, 4, 2], strides: [2, 2], pad: 'same' },
  {
    name: '3x3 mult 3 stride 2 valid',
    x: [3, 10, 9, 2],
    filter: [3, 3, 2, 3],
    strides: [2, 2],
    pad: 'valid',
  },
  {
    name: '5x3 mult 1 stride (1,2) same',
    x: [2, 9, 10, 5],
    filter: [5, 3, 5, 1],
    strides: [1, 2],
    pad: 'same',
  },
  {
    name: '3x3 dilation 2 same',
    x: [2, 10, 9, 3],
    filter: [3, 3, 3, 2],
    strides: [1, 1],
    pad: 'same',
    dilations: [2, 2],
  },
  {
    name: '3x2 dilation (3,2) valid',
    x: [2, 12, 9, 2],
    filter: [3, 2, 2, 1],
    strides: [1, 1],
    pad: 'valid',
    dilations: [3, 2],
  },
  { name: '1-channel 3x3 numeric pad', x: [2, 7, 7, 1], filter: [3, 3, 1, 4], strides: [1, 1], pad: 1 },
  {
    name: 'explicit pad stride 2',
    x: [2, 8, 7, 3],
    filter: [3, 3, 3, 2],
    strides: [2, 2],
    pad: [
      [0, 0],
      [2, 1],
      [1, 0],
      [0, 0],
    ],
  },
];

/**
 * tfjs-backend-cpu's depthwise backprop kernels ignore `dilations` (tfjs-core never asks for a
 * dilated depthwise gradient), so dilated cases are checked against an identity instead: a
 * dilated filter equals an undilated filter of the effective size with zeros between the taps.
 */
function effectiveFilterShape(c: ConvCase): [number, number, number, number] {
  const [fh, fw, ci, m] = c.filter;
  const [dh, dw] = c.dilations ?? [1, 1];
  return [(fh - 1) * dh + 1, (fw - 1) * dw + 1, ci, m];
}

function spreadFilter(c: ConvCase, values: Float32Array): Float32Array {
  const [fh, fw, ci, m] = c.filter;
  const [dh, dw] = c.dilations ?? [1, 1];
  const [, ew] = effectiveFilterShape(c);
  const out = new Float32Array(sizeOf(effectiveFilterShape(c)));
  const inner = ci * m;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const from = (i * fw + j) * inner;
      const to = (i * dh * ew + j * dw) * inner;
      out.set(values.subarray(from, from + inner), to);
    }
  }
  return out;
}

function takeDilatedTaps(c: ConvCase, values: ArrayLike<number>): Float32Array {
  const [fh, fw, ci, m] = c.filter;
  const [dh, dw] = c.dilations ?? [1, 1];
  const [, ew] = effectiveFilterShape(c);
  const inner = ci * m;
  const out = new Float32Array(sizeOf(c.filter));
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      for (let k = 0; k < inner; k++) {
        out[(i * fw + j) * inner + k] = values[(i * dh * ew + j * dw) * inner + k]!;
      }
    }
  }
  return out;
}

const isDilated = (c: ConvCase) => (c.dilations ?? [1, 1]).some((d) => d > 1);

describe('DepthwiseConv2dNativeBackpropFilter, dilated, on wasm equals the undilated identity on cpu', () => {
  it.each(depthwiseCases.filter(isDilated))('$name', async (c) => {
    const dy = dyShape(c, c.filter[2] * c.filter[3]);
    const inputs = { x: spec(c.x, 31), dy: spec(dy, 32) };
    const common = { strides: c.strides, pad: c.pad };
    const cpu = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', inputs, {
      ...common,
      dilations: [1, 1],
      filterShape: effectiveFilterShape(c),
    });
    const wasm = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, {
      ...common,
      dilations: c.dilations,
      filterShape: c.filter,
    });
    expect(wasm.shape).toEqual(c.filter);
    expect(relativeError(wasm.values, takeDilatedTaps(c, cpu.values))).toBeLessThan(1e-4);
  });
});

describe('DepthwiseConv2dNativeBackpropInput, dilated, on wasm equals the undilated identity on cpu', () => {
  it.each(depthwiseCases.filter(isDilated))('$name', async (c) => {
    const dy = spec(dyShape(c, c.filter[2] * c.filter[3]), 41);
    const filter = spec(c.filter, 42);
    const common = { strides: c.strides, pad: c.pad, inputShape: c.x };
    const cpu = await runKernelOn(
      'cpu',
      'DepthwiseConv2dNativeBackpropInput',
      {
        dy,
        filter: { shape: effectiveFilterShape(c), values: spreadFilter(c, filter.values as Float32Array) },
      },
      { ...common, dilations: [1, 1] },
    );
    const wasm = await runKernelOn(
      'wasm',
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter },
      { ...common, dilations: c.dilations },
    );
    expect(wasm.shape).toEqual(c.x);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });
});

describe('DepthwiseConv2dNativeBackpropFilter on wasm equals cpu', () => {
  it.each(depthwiseCases.filter((c) => !isDilated(c)))('$name', async (c) => {
    const dy = dyShape(c, c.filter[2] * c.filter[3]);
    await expectSameOnBothBackends(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: spec(c.x, 31), dy: spec(dy, 32) },
      { strides: c.strides, pad: c.pad, dilations: c.dilations ?? [1, 1], filterShape: c.filter },
    );
  });
});

describe('DepthwiseConv2dNativeBackpropInput on wasm equals cpu', () => {
  it.each(depthwiseCases.filter((c) => !isDilated(c)))('$name', async (c) => {
    const dy = dyShape(c, c.filter[2] * c.filter[3]);
    await expectSameOnBothBackends(
      'DepthwiseConv2dNativeBackpropInput',
      { dy: spec(dy, 41), filter: spec(c.filter, 42) },
      { strides: c.strides, pad: c.pad, dilations: c.dilations ?? [1, 1], inputShape: c.x },
    );
  });
});
