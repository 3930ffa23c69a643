/** Shape arithmetic shared by shape inference and gradient rules. */
import { shapeString } from '../tensor.js';
import type { Dim, Shape } from './graph.js';

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcasting of two shapes; symbolic dims must match exactly unless one is 1. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new Error(`shapes ${shapeString(a)} and ${shapeString(b)} do not broadcast`);
  }
  return out;
}

export function isStatic(shape: Shape): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (!syms.length) return n;
  return n === 1 ? syms.join('*') : `${n}*${syms.join('*')}`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

let unknownCounter = 0;
/** A fresh symbolic dimension for sizes that only the runtime knows. */
export function unknownDim(hint = 'd'): string {
  return `${hint}_${unknownCounter++}`;
}
