/**
 * The demo studies `npm start` puts in its local Orthanc: dermoscopy-like RGB photographs
 * (site-A phantoms, VL Photographic Image Storage) and an abdominal CT volume (16-bit, rescaled to
 * HU): one phantom volume of the models package, from a seed the starter's training never used,
 * 64 axial slices of 256 x 256 at 2.5 mm with one frame of reference, consistent positions and
 * spacing, and two lesions in different organs, so the viewer builds a volume from it (MPR).
 * Study UIDs are fixed, so a second start finds them.
 */
import { createHash } from 'node:crypto';
import { CT_WINDOW, Rng, ctVolume, dermoscopyPhantom, regionCentre, siteProfile, sliceMask, volumeGeometry, type CtVolume, type CtVolumeOptions } from '@glmedsa/models';
import { type StudyContext, ctSlice, rgbPhoto } from '../dicom/factory.js';
import type { InstanceRef } from '../dicom/image-ref.js';

/** A stable UID under 2.25 from a name. */
function stableUid(name: string): string {
  const h = createHash('sha256').update(`glmedsa-demo:${name}`).digest('hex').slice(0, 30);
  return `2.25.${BigInt(`0x${h}`).toString()}`;
}

export interface DemoInstance extends InstanceRef {
  /** A point inside a lesion (the centre of the largest lesion on the image), to click on; null on CT slices no lesion crosses. */
  lesion: { x: number; y: number } | null;
  width: number;
  height: number;
}

export interface DemoSeries {
  description: string;
  /** In the order the viewer shows them (the CT slices from head to feet). */
  instances: DemoInstance[];
  /** The instance to click a lesion on: the one with the largest lesion section. */
  lesionIndex: number;
}

/**
 * The demo CT volume: a seed that no dataset of the starter's training or evaluation uses (their
 * volumes take itemSeed(606, k) and itemSeed(808, k)), site A's scanner, two lesions in different
 * organs, the portal venous phase.
 */
const DEMO_CT_VOLUME: { seed: number; options: CtVolumeOptions } = {
  seed: 9010,
  options: { site: 'A', size: 256, slices: 64, sliceSpacingMm: 2.5, lesions: ['liver', 'kidney'], phase: 'portal venous' },
};

/** The demo CT volume (HU and labels), as buildDemoStudies stores it; `slices`/`size` shrink it for tests. */
export function demoCtVolume(o: { slices?: number; size?: number } = {}): CtVolume {
  return ctVolume(DEMO_CT_VOLUME.seed, { ...DEMO_CT_VOLUME.options, ...(o.slices ? { slices: o.slices } : {}), ...(o.size ? { size: o.size } : {}) });
}

/** The lesion on slice z with the largest section there, and that section's centre; null when none. */
export function largestLesion(volume: CtVolume, z: number): { id: number; centre: { x: number; y: number }; area: number } | null {
  let best: { id: number; centre: { x: number; y: number }; area: number } | null = null;
  for (const o of volume.objects) {
    if (o.structure !== 'lesion' || z < o.firstSlice || z > o.lastSlice) continue;
    const mask = sliceMask(volume, z, [o.id]);
    let area = 0;
    for (const v of mask) area += v;
    if (!area || (best && best.area >= area)) continue;
    best = { id: o.id, centre: lesionCentre(mask, volume.columns, volume.rows), area };
  }
  return best;
}

interface DemoFile {
  bytes: Uint8Array;
  instance: DemoInstance;
}

/** A point inside a lesion mask to click on: its centre (the pixel farthest from its border). */
export function lesionCentre(mask: Uint8Array, w: number, h: number): { x: number; y: number } {
  const c = regionCentre(mask, w, h);
  if (!c) throw new Error('a demo phantom has an empty lesion mask');
  return c;
}

export const DEMO_STUDIES = {
  dermoscopy: stableUid('dermoscopy-study'),
  ct: stableUid('ct-volume-study'),
};

/** The CT study of earlier versions (8 unrelated slices), replaced by the volume where found. */
export const LEGACY_CT_STUDY = stableUid('ct-study');

/** Builds the demo files: `photos` photographs of `size` px and the CT volume (`slices` and `ctSize` shrink it for tests). */
export function buildDemoStudies(o: { photos?: number; size?: number; slices?: number; ctSize?: number } = {}): { files: DemoFile[]; series: DemoSeries[] } {
  const files: DemoFile[] = [];
  const series: DemoSeries[] = [];
  const derm: StudyContext = {
    StudyInstanceUID: DEMO_STUDIES.dermoscopy,
    PatientID: 'DEMO-0001',
    PatientName: 'Demo^Dermoscopy',
    StudyID: 'DERM1',
    StudyDescription: 'Dermoscopy phantoms (synthetic, site A)',
  };
  const dermSeries = stableUid('dermoscopy-series');
  const size = o.size ?? 512;
  const site = siteProfile('A');
  const photos: DemoInstance[] = [];
  for (let i = 0; i < (o.photos ?? 6); i++) {
    const p = dermoscopyPhantom(new Rng(7000 + i), size, site);
    const file = rgbPhoto({
      width: size,
      height: size,
      rgb: p.image.data,
      study: derm,
      seriesInstanceUID: dermSeries,
      seriesDescription: 'Dermoscopy',
      instanceNumber: i + 1,
    });
    const instance = { ...file.ref, lesion: lesionCentre(p.mask, size, size), width: size, height: size };
    photos.push(instance);
    files.push({ bytes: file.bytes, instance });
  }
  series.push({ description: 'Dermoscopy photographs (RGB)', instances: photos, lesionIndex: 0 });

  const ct: StudyContext = {
    StudyInstanceUID: DEMO_STUDIES.ct,
    PatientID: 'DEMO-0002',
    PatientName: 'Demo^Abdomen',
    StudyID: 'CT1',
    StudyDescription: 'Abdominal CT phantom volume (synthetic, site A)',
  };
  const ctSeries = stableUid('ct-series');
  const volume = demoCtVolume({ ...(o.slices ? { slices: o.slices } : {}), ...(o.ctSize ? { size: o.ctSize } : {}) });
  const geometry = volumeGeometry(volume);
  const frameOfReferenceUID = stableUid('ct-frame-of-reference');
  const n = volume.columns * volume.rows;
  const slices: DemoInstance[] = [];
  let lesionIndex = -1;
  let largest = 0;
  for (let z = 0; z < volume.slices; z++) {
    const file = ctSlice({
      rows: volume.rows,
      cols: volume.columns,
      hu: volume.hu.subarray(z * n, (z + 1) * n),
      window: CT_WINDOW,
      study: ct,
      seriesInstanceUID: ctSeries,
      sopInstanceUID: stableUid(`ct-slice-${z}`),
      seriesDescription: 'Abdomen axial 2.5 mm',
      instanceNumber: z + 1,
      geometry: {
        position: geometry.slicePosition(z),
        orientation: geometry.orientation,
        pixelSpacing: geometry.pixelSpacing,
        sliceThickness: geometry.sliceSpacing,
        sliceSpacing: geometry.sliceSpacing,
        frameOfReferenceUID,
      },
    });
    const lesion = largestLesion(volume, z);
    if (lesion && lesion.area > largest) {
      largest = lesion.area;
      lesionIndex = z;
    }
    const instance = { ...file.ref, lesion: lesion?.centre ?? null, width: volume.columns, height: volume.rows };
    slices.push(instance);
    files.push({ bytes: file.bytes, instance });
  }
  if (lesionIndex < 0) throw new Error('the demo CT volume has no lesion on its slices');
  series.push({ description: 'CT volume (16-bit, HU)', instances: slices, lesionIndex });
  return { files, series };
}
