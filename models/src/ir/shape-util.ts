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

/**
 * Symbolic dimensions are monomials: a coefficient times symbols, written 'k*a*b' (symbols
 * sorted). A symbol containing '+' (a sum from Concat) is kept atomic.
 */
interface Monomial {
  coef: number;
  syms: string[];
}

export function parseDim(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, syms: [] };
  if (d.includes('+')) return { coef: 1, syms: [d] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

function formatDim(m: Monomial): Dim {
  if (!m.syms.length || m.coef === 0) return m.coef;
  const syms = [...m.syms].sort();
  return m.coef === 1 ? syms.join('*') : `${m.coef}*${syms.join('*')}`;
}

export function product(dims: readonly Dim[]): Dim {
  const out: Monomial = { coef: 1, syms: [] };
  for (const d of dims) {
    const m = parseDim(d);
    out.coef *= m.coef;
    out.syms.push(...m.syms);
  }
  return formatDim(out);
}

/** a / b when b divides a exactly (coefficients and symbols), else undefined. */
export function divideDims(a: Dim, b: Dim): Dim | undefined {
  const ma = parseDim(a);
  const mb = parseDim(b);
  if (mb.coef === 0 || ma.coef % mb.coef !== 0) return undefined;
  const syms = [...ma.syms];
  for (const s of mb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  return formatDim({ coef: ma.coef / mb.coef, syms });
}

let unknownCounter = 0;
/** A fresh symbolic dimension for sizes that only the runtime knows. */
export function unknownDim(hint = 'd'): string {
  return `${hint}_${unknownCounter++}`;
}
