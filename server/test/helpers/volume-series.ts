/**
 * Series that are volumes (and some that are not) for the propagation tests: CT slices with their
 * positions along the normal, instance numbers running the other way, slices left out, and an
 * enhanced multi-frame CT whose frames carry their positions in per-frame functional groups.
 */
import { type LesionStack } from '@glmedsa/models';
import { type DicomFile, type SliceGeometry, type StudyContext, SOP_CLASSES, baseDataset, bufferOf, ctSlice, finish, imagePixelModule, newStudy, newUid } from './dicom-factory.js';
import type { TestOrthanc } from './orthanc.js';

export interface UploadedSlice {
  sopInstanceUID: string;
  /** The slice's index in the stack it came from. */
  z: number;
}

export interface UploadedSeries {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  slices: UploadedSlice[];
  study: StudyContext;
}

export interface VolumeOptions {
  study?: StudyContext;
  /** Slice step along z, mm (default 2.5). */
  spacing?: number;
  /** Stack slices not stored (missing slices). */
  skip?: readonly number[];
  /** Geometry of slice z (default: axial, z * spacing). */
  geometry?: (z: number) => SliceGeometry;
  /** Pixel values of slice z (default: the stack's). */
  hu?: (z: number) => ArrayLike<number>;
  rows?: number;
  cols?: number;
  description?: string;
}

/**
 * Stores a lesion stack as a CT series: slice z at z * spacing mm, instance numbers counting down
 * (the first slice stored has the highest number), uploaded in a shuffled order.
 */
export async function uploadVolume(orthanc: Pick<TestOrthanc, 'upload'>, stack: Pick<LesionStack, 'hu' | 'size'>, o: VolumeOptions = {}): Promise<UploadedSeries> {
  const study = o.study ?? newStudy('propagation test');
  const seriesInstanceUID = newUid();
  const spacing = o.spacing ?? 2.5;
  const n = stack.hu.length;
  const files: { file: DicomFile; z: number }[] = [];
  for (let z = 0; z < n; z++) {
    if (o.skip?.includes(z)) continue;
    const file = ctSlice({
      rows: o.rows ?? stack.size,
      cols: o.cols ?? stack.size,
      hu: o.hu?.(z) ?? stack.hu[z]!,
      window: { center: 40, width: 400 },
      study,
      seriesInstanceUID,
      seriesDescription: o.description ?? 'volume',
      instanceNumber: n - z,
      geometry: o.geometry?.(z) ?? { position: [-90, -90, z * spacing] },
    });
    files.push({ file, z });
  }
  // stored in an order that is neither the positions' nor the instance numbers'
  const order = files.map((_, i) => i).sort((a, b) => ((a * 7919) % 13) - ((b * 7919) % 13) || a - b);
  for (const i of order) await orthanc.upload(files[i]!.file);
  return { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID, slices: files.map((f) => ({ sopInstanceUID: f.file.ref.sopInstanceUID, z: f.z })), study };
}

/**
 * An enhanced CT (one multi-frame instance) of the stack's slices, its frames stored from the last
 * slice to the first, each with its own Plane Position, the orientation shared.
 */
export function enhancedCt(stack: Pick<LesionStack, 'hu' | 'size'>, o: { study?: StudyContext; spacing?: number } = {}): { file: DicomFile; frameOfSlice: (z: number) => number } {
  const n = stack.hu.length;
  const size = stack.size;
  const spacing = o.spacing ?? 2.5;
  const stored = new Int16Array(n * size * size);
  // frame f (1-based) holds slice n - f
  for (let f = 1; f <= n; f++) {
    const hu = stack.hu[n - f]!;
    for (let i = 0; i < size * size; i++) stored[(f - 1) * size * size + i] = hu[i]! + 1024;
  }
  const { dataset, ref } = baseDataset('1.2.840.10008.5.1.4.1.1.2.1', 'CT', { ...(o.study ? { study: o.study } : {}), seriesDescription: 'enhanced CT volume' });
  Object.assign(dataset, imagePixelModule(size, size, 16, 16, true, 'MONOCHROME2', 1), {
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    NumberOfFrames: n,
    RescaleSlope: 1,
    RescaleIntercept: -1024,
    WindowCenter: [40],
    WindowWidth: [400],
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] }],
        PixelMeasuresSequence: [{ PixelSpacing: [0.7, 0.7], SliceThickness: spacing }],
      },
    ],
    PerFrameFunctionalGroupsSequence: Array.from({ length: n }, (_, k) => ({ PlanePositionSequence: [{ ImagePositionPatient: [-90, -90, (n - 1 - k) * spacing] }] })),
    PixelData: [bufferOf(stored)],
    _vrMap: { PixelData: 'OW' },
  });
  return { file: finish(dataset, ref), frameOfSlice: (z) => n - z };
}

export { SOP_CLASSES };
