/**
 * Building blocks shared by the SAM modules. Each declares its parameters in the scope it is
 * given (PyTorch's names and layouts: Linear [out, in], Conv2d [out, in, k, k]) and returns its
 * forward function.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { numel } from '../tensor.js';
import type { Param, ParamGroup, ParamScope } from './param-scope.js';

export type Forward = (x: Value) => Value;

/** PyTorch Linear at `name` ([out, in] weight): y = x W^T + b. */
export function linear(s: ParamScope, name: string, inp: number, out: number, o: { bias?: boolean; zeroInit?: boolean } = {}): Forward {
  const init = o.zeroInit ? 'zeros' : 'linear';
  const w = s.param(`${name}.weight`, [out, inp], init, { fanIn: inp });
  const b = (o.bias ?? true) ? s.param(`${name}.bias`, [out], init, { fanIn: inp }) : null;
  return (x) => {
    const wT = op.transpose(w.value(), [1, 0]);
    return op.linear(x, wT, b ? b.value() : null);
  };
}

/** The weight and bias of a normalisation layer over `n` channels (ones and zeros). */
function normParams(s: ParamScope, name: string, n: number): [Param, Param] {
  return [s.param(`${name}.weight`, [n], 'ones'), s.param(`${name}.bias`, [n], 'zeros')];
}

/** LayerNorm over the last axis. */
export function layerNorm(s: ParamScope, name: string, n: number, eps: number): Forward {
  const [w, b] = normParams(s, name, n);
  return (x) => op.layerNorm(x, w.value(), b.value(), eps);
}

/** SAM's LayerNorm2d: normalise the channel axis of NCHW (eps 1e-6). */
export function layerNorm2d(s: ParamScope, name: string, n: number, eps = 1e-6): Forward {
  const norm = layerNorm(s, name, n, eps);
  return (x) => op.transpose(norm(op.transpose(x, [0, 2, 3, 1])), [0, 3, 1, 2]);
}

interface Conv2dOptions {
  bias?: boolean;
  strides?: [number, number];
  pads?: [number, number, number, number];
}

/** PyTorch Conv2d at `name` with a square kernel, on NCHW. */
export function conv2d(s: ParamScope, name: string, inp: number, out: number, kernel: number, o: Conv2dOptions = {}): Forward {
  const shape = [out, inp, kernel, kernel];
  const fanIn = numel(shape.slice(1));
  const w = s.param(`${name}.weight`, shape, 'conv', { fanIn });
  const b = (o.bias ?? true) ? s.param(`${name}.bias`, [out], 'conv', { fanIn }) : null;
  const attrs = {
    ...(o.strides ? { strides: o.strides } : {}),
    ...(o.pads ? { pads: o.pads } : {}),
  };
  return (x) => op.conv(x, w.value(), b ? b.value() : null, attrs);
}

/** A PyTorch Embedding table [rows, dim] (learned tokens), standard-normal fresh. */
export function embedding(s: ParamScope, name: string, rows: number, dim: number): Param {
  return s.param(`${name}.weight`, [rows, dim], 'normal');
}

/** A small MLP (Linear layers with ReLU between): in -> hidden x (layers - 1) -> out. */
export function mlp(s: ParamScope, inp: number, hidden: number, out: number, layers: number): Forward {
  const ls = Array.from({ length: layers }, (_, j) =>
    linear(s, `layers.${j}`, j === 0 ? inp : hidden, j === layers - 1 ? out : hidden),
  );
  return (x) => {
    ls.forEach((layer, j) => {
      x = layer(x);
      if (j < layers - 1) x = op.relu(x);
    });
    return x;
  };
}

function activation(kind: 'gelu' | 'relu', x: Value): Value {
  return kind === 'gelu' ? op.gelu(x) : op.relu(x);
}

/**
 * Med-SA adapter bottleneck at `name`: fc2(act(fc1(x))), D -> hidden -> D. fc2 starts at zero,
 * so a fresh adapter adds nothing.
 */
export function adapter(s: ParamScope, name: string, group: ParamGroup, D: number, hidden: number, act: 'gelu' | 'relu'): Forward {
  const a = s.child(name, { group, adapter: true });
  const fc1 = linear(a, 'D_fc1', D, hidden);
  const fc2 = linear(a, 'D_fc2', hidden, D, { zeroInit: true });
  return (x) => fc2(activation(act, fc1(x)));
}
