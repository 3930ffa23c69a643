import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Value } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { int64 } from '../../src/tensor.js';
import type { Rng } from '../../src/util/random.js';
import { type InputSpec, gradCheck } from './gradcheck.js';

const away = (r: Rng) => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.2, 1.2); // keeps off kinks at 0
const positive = (r: Rng) => r.uniform(0.5, 2);
const X = (shape: number[], draw?: (r: Rng) => number): InputSpec => ({ name: 'x', shape, ...(draw ? { draw } : {}) });
const Y = (shape: number[], draw?: (r: Rng) => number): InputSpec => ({ name: 'y', shape, ...(draw ? { draw } : {}) });

describe('gradient rules match central finite differences', () => {
  const small = (r: Rng) => r.uniform(-0.3, 0.3);
  const binary: [string, (a: Value, b: Value) => Value, ((r: Rng) => number)?, ((r: Rng) => number)?][] = [
    ['Add', op.add],
    ['Sub', op.sub],
    ['Mul', op.mul],
    ['Div', op.div, undefined, positive],
    // Operands kept apart so no finite-difference step crosses a tie.
    ['Max', op.max, away, small],
    ['Min', op.min, away, small],
  ];
  for (const [name, f, drawX, drawY] of binary) {
    test(`${name} with broadcasting`, async () => {
      await gradCheck([X([2, 3, 4], drawX), Y([3, 1], drawY)], ([a, b]) => f(a!, b!));
    });
  }
  test('Pow', async () => {
    await gradCheck([X([3, 4], positive), Y([4], (r) => r.uniform(0.5, 2.5))], ([a, b]) => op.pow(a!, b!));
  });

  const unary: [string, (x: Value) => Value, ((r: Rng) => number)?][] = [
    ['Identity', op.identity],
    ['Neg', op.neg],
    ['Exp', op.exp],
    ['Log', op.log, positive],
    ['Sqrt', op.sqrt, positive],
    ['Reciprocal', op.reciprocal, positive],
    ['Abs', op.abs, away],
    ['Relu', op.relu, away],
    ['Sigmoid', op.sigmoid],
    ['Tanh', op.tanh],
    ['Erf', op.erf],
    ['Sin', op.sin],
    ['Cos', op.cos],
    ['Softplus', op.softplus],
    ['Gelu', op.gelu, (r) => r.uniform(-3, 3)],
  ];
  for (const [name, f, draw] of unary) {
    test(name, async () => {
      await gradCheck([X([3, 5], draw)], ([x]) => f(x!));
    });
  }

  test('Softmax', async () => {
    await gradCheck([X([2, 3, 6], (r) => r.uniform(-3, 3))], ([x]) => op.softmax(x!, -1));
  });
  test('LogSoftmax (axis 1)', async () => {
    await gradCheck([X([2, 4, 3])], ([x]) => x!.graph.emit('LogSoftmax', [x!], { axis: { kind: 'int', value: 1 } })[0]!);
  });
  test('Where', async () => {
    await gradCheck([X([3, 4]), Y([4])], ([x, y]) => op.where(op.greater(x!, op.scalar(x!.graph, 0)), x!, y!));
  });
  test('Cast float32 -> float32', async () => {
    await gradCheck([X([5])], ([x]) => op.cast(x!, 'float32'));
  });

  test('Reshape, Transpose, Unsqueeze, Squeeze', async () => {
    await gradCheck([X([2, 3, 4])], ([x]) =>
      op.squeeze(op.unsqueeze(op.transpose(op.reshape(x!, [6, 4]), [1, 0]), [0]), [0]),
    );
  });
  test('Concat and Split (an unused split output)', async () => {
    await gradCheck([X([2, 3]), Y([2, 2])], ([x, y]) => {
      const [a, , c] = op.split(op.concat([x!, y!], 1), [2, 1, 2], 1);
      return op.mul(a!, c!);
    });
  });
  test('Slice and Pad', async () => {
    await gradCheck([X([4, 6])], ([x]) => op.pad(op.slice(x!, [0, 1], [1, -5], [3, 100]), [1, 0, 0, 2]));
  });
  test('Expand and Tile', async () => {
    await gradCheck([X([3, 1]), Y([2, 3])], ([x, y]) => op.add(op.expand(x!, [2, 3, 4]), op.unsqueeze(op.tile(y!, [1, 1]), [2])));
    await gradCheck([X([2, 3])], ([x]) => op.tile(x!, [3, 2]));
  });
  test('Gather (axis 0, repeated indices)', async () => {
    await gradCheck(
      [X([5, 3]), { name: 'idx', shape: [2, 3], fixed: int64([2, 3], [0, 4, 4, 1, 0, 2]) }],
      ([x, idx]) => op.gather(x!, idx!, 0),
    );
  });
  test('ReduceSum, ReduceMean, ReduceSumSquare', async () => {
    await gradCheck([X([2, 3, 4])], ([x]) => op.reduceSum(x!, [1], true));
    await gradCheck([X([2, 3, 4])], ([x]) => op.reduceMean(x!, [0, 2], false));
    await gradCheck([X([2, 3])], ([x]) => x!.graph.emit('ReduceSumSquare', [x!, op.ints(x!.graph, [1])])[0]!);
  });

  test('MatMul: batched, broadcast batch, and a shared 2-D weight', async () => {
    await gradCheck([X([2, 3, 4]), Y([2, 4, 5])], ([a, b]) => op.matmul(a!, b!));
    await gradCheck([X([2, 2, 3, 4]), Y([2, 1, 4, 2])], ([a, b]) => op.matmul(a!, b!));
    await gradCheck([X([2, 3, 3, 4]), Y([4, 5])], ([a, b]) => op.matmul(a!, b!));
  });

  test('Conv: stride, padding, dilation, bias', async () => {
    const w = { name: 'w', shape: [4, 3, 3, 3] };
    const b = { name: 'b', shape: [4] };
    await gradCheck([X([2, 3, 7, 6]), w, b], ([x, w, b]) => op.conv(x!, w!, b!, { strides: [2, 2], pads: [1, 0, 1, 1] }), { atol: 3e-3 });
    await gradCheck([X([1, 3, 8, 8]), w], ([x, w]) => op.conv(x!, w!, null, { dilations: [2, 1], pads: [2, 1, 2, 1] }), { atol: 3e-3 });
  });
  test('Conv as patch embedding (kernel = stride)', async () => {
    await gradCheck([X([2, 3, 8, 8]), { name: 'w', shape: [5, 3, 4, 4] }, { name: 'b', shape: [5] }], ([x, w, b]) =>
      op.conv(x!, w!, b!, { strides: [4, 4] }),
    { atol: 3e-3 });
  });

  test('LayerNormalization (last axis and trailing axes)', async () => {
    const scale = { name: 's', shape: [6] };
    const bias = { name: 'b', shape: [6] };
    await gradCheck([X([2, 3, 6], (r) => r.uniform(-2, 2)), scale, bias], ([x, s, b]) => op.layerNorm(x!, s!, b!, 1e-5), { atol: 3e-3 });
    await gradCheck([X([2, 3, 4]), { name: 's', shape: [3, 4] }, { name: 'b', shape: [3, 4] }], ([x, s, b]) =>
      op.layerNorm(x!, s!, b!, 1e-5, 1),
    { atol: 3e-3 });
  });

  test('Resize (bilinear, up and down)', async () => {
    await gradCheck([X([1, 2, 3, 4])], ([x]) => op.resizeBilinear(x!, [1, 2, 7, 5]));
    await gradCheck([X([1, 1, 8, 6])], ([x]) => op.resizeBilinear(x!, [1, 1, 3, 4]));
  });

  test('a value used twice accumulates both gradients', async () => {
    const r = await gradCheck([X([3])], ([x]) => op.mul(x!, op.exp(x!)));
    assert.ok(r.worst <= 1);
  });
});

describe('training losses match finite differences', () => {
  test("the 'sam' loss: best multimask output plus IoU-head MSE", async () => {
    const { trainingLoss } = await import('../../src/train/loss.js');
    const { float32 } = await import('../../src/tensor.js');
    const targets = float32([2, 1, 4, 4], Array.from({ length: 32 }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    await gradCheck(
      [
        { name: 'masks', shape: [2, 4, 4, 4], draw: (r) => r.uniform(-3, 3) },
        { name: 'iou', shape: [2, 4] },
        { name: 'targets', shape: [2, 1, 4, 4], fixed: targets },
      ],
      ([masks, iou, t]) => op.reshape(trainingLoss(masks!, iou!, t!, true).loss, [1]),
      { eps: 1e-3, atol: 2e-3 },
    );
  });
  test("the 'medsa' loss on the single-mask output", async () => {
    const { trainingLoss } = await import('../../src/train/loss.js');
    const { float32 } = await import('../../src/tensor.js');
    const targets = float32([2, 1, 4, 4], Array.from({ length: 32 }, (_, i) => (i % 2 ? 1 : 0)));
    await gradCheck(
      [
        { name: 'masks', shape: [2, 4, 4, 4], draw: (r) => r.uniform(-3, 3) },
        { name: 'iou', shape: [2, 4] },
        { name: 'targets', shape: [2, 1, 4, 4], fixed: targets },
      ],
      ([masks, iou, t]) => op.reshape(trainingLoss(masks!, iou!, t!, false, { kind: 'medsa' }).loss, [1]),
    );
  });
});
