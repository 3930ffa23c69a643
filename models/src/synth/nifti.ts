/**
 * NIfTI-1 single files (.nii, or .nii.gz when the name says so) for the phantom volumes: the
 * format research tools read (ITK-SNAP, 3D Slicer, MONAI, nnU-Net, nibabel). A voxel (i, j, k) is
 * column i, row j of slice k; the header's qform and sform both map it to RAS millimetres the way
 * the matching DICOM series (ImagePositionPatient of slice 0 at `origin`, rows along +x and columns
 * along +y of LPS, slices going towards the feet) lies in the scanner.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { writeBytesAtomic } from '../util/atomic-file.js';

const HEADER_BYTES = 348;
const DATA_OFFSET = 352;
const DATATYPES = { uint8: { code: 2, bits: 8 }, int16: { code: 4, bits: 16 } } as const;

export interface NiftiVolume {
  /** columns (i), rows (j), slices (k). */
  dims: [number, number, number];
  /** Voxel size, mm: column spacing, row spacing, slice spacing. */
  spacing: [number, number, number];
  /** LPS position of voxel (0, 0, 0) (DICOM's ImagePositionPatient of the first slice). */
  origin: [number, number, number];
  data: Uint8Array | Int16Array;
}

/** The NIfTI-1 bytes of a volume whose slices go from head (k = 0) to feet, axial, LPS rows/columns. */
function encodeNifti(v: NiftiVolume): Uint8Array {
  const [ni, nj, nk] = v.dims;
  if (v.data.length !== ni * nj * nk) throw new Error(`a ${ni}x${nj}x${nk} volume needs ${ni * nj * nk} voxels, got ${v.data.length}`);
  const type = v.data instanceof Int16Array ? DATATYPES.int16 : DATATYPES.uint8;
  const bytes = new Uint8Array(DATA_OFFSET + v.data.byteLength);
  const h = new DataView(bytes.buffer);
  h.setInt32(0, HEADER_BYTES, true);
  h.setUint8(38, 'r'.charCodeAt(0)); // regular
  const dim = [3, ni, nj, nk, 1, 1, 1, 1];
  dim.forEach((d, i) => h.setInt16(40 + 2 * i, d, true));
  h.setInt16(70, type.code, true);
  h.setInt16(72, type.bits, true);
  const [dx, dy, dz] = v.spacing;
  // qfac -1: the third axis is flipped against the rotation below
  [-1, dx, dy, dz, 1, 1, 1, 1].forEach((p, i) => h.setFloat32(76 + 4 * i, p, true));
  h.setFloat32(108, DATA_OFFSET, true); // vox_offset
  h.setFloat32(112, 1, true); // scl_slope
  h.setFloat32(116, 0, true); // scl_inter
  h.setUint8(123, 2 | 8); // xyzt_units: mm, s
  // LPS origin -> RAS: x_R = -x_L, y_A = -y_P
  const [ox, oy, oz] = v.origin;
  h.setInt16(252, 1, true); // qform_code: scanner
  h.setInt16(254, 1, true); // sform_code: scanner
  // rotation diag(-1, -1, 1) is the quaternion (b, c, d) = (0, 0, 1); with qfac -1 the k axis runs to -z
  h.setFloat32(256, 0, true);
  h.setFloat32(260, 0, true);
  h.setFloat32(264, 1, true);
  h.setFloat32(268, -ox, true);
  h.setFloat32(272, -oy, true);
  h.setFloat32(276, oz, true);
  const srow = [
    [-dx, 0, 0, -ox],
    [0, -dy, 0, -oy],
    [0, 0, -dz, oz],
  ];
  srow.forEach((row, r) => row.forEach((val, c) => h.setFloat32(280 + 16 * r + 4 * c, val, true)));
  const magic = 'n+1\0';
  for (let i = 0; i < 4; i++) h.setUint8(344 + i, magic.charCodeAt(i));
  // bytes 348..351: no extensions
  const data = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  if (type.bits === 16 && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('NIfTI writing needs a little-endian machine');
  bytes.set(data, DATA_OFFSET);
  return bytes;
}

/** Writes a volume to `path` atomically, gzipped when the name ends in .gz. */
export async function writeNifti(path: string, v: NiftiVolume): Promise<void> {
  const raw = encodeNifti(v);
  await writeBytesAtomic(path, path.endsWith('.gz') ? gzipSync(raw, { level: 6 }) : raw);
}

/** Reads back what writeNifti wrote (little-endian uint8 or int16 NIfTI-1 single files). */
export async function readNifti(path: string): Promise<NiftiVolume> {
  let bytes: Uint8Array = await readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < DATA_OFFSET) throw new Error(`${path} is too short for a NIfTI-1 file`);
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (h.getInt32(0, true) !== HEADER_BYTES) throw new Error(`${path} is not a little-endian NIfTI-1 file`);
  const dims: [number, number, number] = [h.getInt16(42, true), h.getInt16(44, true), h.getInt16(46, true)];
  const code = h.getInt16(70, true);
  const offset = Math.round(h.getFloat32(108, true));
  const n = dims[0] * dims[1] * dims[2];
  const spacing: [number, number, number] = [h.getFloat32(80, true), h.getFloat32(84, true), h.getFloat32(88, true)];
  const origin: [number, number, number] = [-h.getFloat32(292, true), -h.getFloat32(308, true), h.getFloat32(324, true)];
  let data: Uint8Array | Int16Array;
  if (code === DATATYPES.uint8.code) data = new Uint8Array(bytes.subarray(offset, offset + n));
  else if (code === DATATYPES.int16.code) data = new Int16Array(bytes.slice(offset, offset + 2 * n).buffer);
  else throw new Error(`${path}: NIfTI datatype ${code} is not read here (uint8 and int16 are)`);
  if (data.length !== n) throw new Error(`${path} holds ${data.length} of its ${n} voxels`);
  return { dims, spacing, origin, data };
}
