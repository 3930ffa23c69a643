/** ONNX node attributes, tagged with their ONNX attribute type. */
import { type Tensor } from '../tensor.js';

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: Tensor };

export type Attrs = Record<string, AttrValue>;

export const attrInt = (value: number): AttrValue => ({ kind: 'int', value });
export const attrFloat = (value: number): AttrValue => ({ kind: 'float', value });
export const attrString = (value: string): AttrValue => ({ kind: 'string', value });
export const attrInts = (value: number[]): AttrValue => ({ kind: 'ints', value: [...value] });
export const attrTensor = (value: Tensor): AttrValue => ({ kind: 'tensor', value });

export function getInt(attrs: Attrs, name: string, fallback?: number): number {
  const a = attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw new Error(`missing attribute '${name}'`);
    return fallback;
  }
  if (a.kind !== 'int') throw new Error(`attribute '${name}' is ${a.kind}, expected int`);
  return a.value;
}

export function getInts(attrs: Attrs, name: string, fallback?: number[]): number[] {
  const a = attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw new Error(`missing attribute '${name}'`);
    return fallback;
  }
  if (a.kind !== 'ints') throw new Error(`attribute '${name}' is ${a.kind}, expected ints`);
  return a.value;
}
