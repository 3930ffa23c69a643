/**
 * A dense, row-major tensor held in memory. This is the currency between checkpoint readers,
 * graph initializers, onnxruntime inputs/outputs and the pre/post-processing code.
 */

export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** Storage used for each dtype. float16/bfloat16 keep their raw 16-bit patterns. */
export interface DataFor {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TensorData = DataFor[DType];

export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: DataFor[D];
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function allocate<D extends DType>(dtype: D, length: number): DataFor[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length) as DataFor[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length) as DataFor[D];
    case 'float64':
      return new Float64Array(length) as DataFor[D];
    case 'int64':
      return new BigInt64Array(length) as DataFor[D];
    case 'int32':
      return new Int32Array(length) as DataFor[D];
    case 'int16':
      return new Int16Array(length) as DataFor[D];
    case 'int8':
      return new Int8Array(length) as DataFor[D];
    case 'uint8':
    case 'bool':
      return new Uint8Array(length) as DataFor[D];
  }
  throw new Error(`unknown dtype ${String(dtype)}`);
}

/** Views little-endian bytes as a typed array of `dtype` (copies when the bytes are unaligned). */
export function fromBytes<D extends DType>(dtype: D, bytes: Uint8Array): DataFor[D] {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const length = aligned.byteLength / size;
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, length) as DataFor[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf, off, length) as DataFor[D];
    case 'float64':
      return new Float64Array(buf, off, length) as DataFor[D];
    case 'int64':
      return new BigInt64Array(buf, off, length) as DataFor[D];
    case 'int32':
      return new Int32Array(buf, off, length) as DataFor[D];
    case 'int16':
      return new Int16Array(buf, off, length) as DataFor[D];
    case 'int8':
      return new Int8Array(buf, off, length) as DataFor[D];
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, off, length) as DataFor[D];
  }
  throw new Error(`unknown dtype ${String(dtype)}`);
}

/** The bytes of a tensor's data, without copying. */
export function toBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function tensor<D extends DType>(dtype: D, shape: number[], data?: DataFor[D]): Tensor<D> {
  const n = numel(shape);
  const d = data ?? allocate(dtype, n);
  if (d.length !== n) {
    throw new Error(`data of length ${d.length} does not fit shape [${shape.join(', ')}]`);
  }
  return { dtype, shape: [...shape], data: d };
}

export function float32(shape: number[], values?: ArrayLike<number>): Tensor<'float32'> {
  const t = tensor('float32', shape);
  if (values) t.data.set(values);
  return t;
}

export function int64(shape: number[], values: ArrayLike<number | bigint>): Tensor<'int64'> {
  const t = tensor('int64', shape);
  for (let i = 0; i < values.length; i++) t.data[i] = BigInt(values[i]!);
  return t;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Converts any floating tensor (float16, bfloat16, float64) to float32; float32 is returned as is. */
export function toFloat32(t: Tensor): Tensor<'float32'> {
  switch (t.dtype) {
    case 'float32':
      return t as Tensor<'float32'>;
    case 'float64':
      return float32(t.shape, t.data as Float64Array);
    case 'float16': {
      const src = t.data as Uint16Array;
      const out = float32(t.shape);
      for (let i = 0; i < src.length; i++) out.data[i] = halfToFloat(src[i]!);
      return out;
    }
    case 'bfloat16': {
      const src = t.data as Uint16Array;
      const out = float32(t.shape);
      const bits = new Uint32Array(out.data.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
      return out;
    }
    default:
      throw new Error(`cannot convert a ${t.dtype} tensor to float32`);
  }
}

export function shapeString(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
