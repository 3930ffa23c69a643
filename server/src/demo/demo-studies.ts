/**
 * The demo studies `npm start` puts in its local Orthanc: dermoscopy-like RGB photographs
 * (site-A phantoms, VL Photographic Image Storage) and a CT-like series (16-bit, rescaled to HU),
 * made from the models package's phantoms. Study UIDs are fixed, so a second start finds them.
 */
import { createHash } from 'node:crypto';
import { Rng, ctPhantom, dermoscopyPhantom, regionCentre, siteProfile } from '@glmedsa/models';
import { type StudyContext, ctSlice, rgbPhoto } from '../dicom/factory.js';
import type { InstanceRef } from '../dicom/image-ref.js';

/** A stable UID under 2.25 from a name. */
function stableUid(name: string): string {
  const h = createHash('sha256').update(`glmedsa-demo:${name}`).digest('hex').slice(0, 30);
  return `2.25.${BigInt(`0x${h}`).toString()}`;
}

export interface DemoInstance extends InstanceRef {
  /** A point inside the lesion (its centre), to click on. */
  lesion: { x: number; y: number };
  width: number;
  height: number;
}

export interface DemoSeries {
  description: string;
  instances: DemoInstance[];
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
  ct: stableUid('ct-study'),
};

/** Builds the demo files: `count` photographs of `size` px and `slices` CT slices. */
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
  series.push({ description: 'Dermoscopy photographs (RGB)', instances: photos });

  const ct: StudyContext = {
    StudyInstanceUID: DEMO_STUDIES.ct,
    PatientID: 'DEMO-0002',
    PatientName: 'Demo^Abdomen',
    StudyID: 'CT1',
    StudyDescription: 'Abdominal CT phantoms (synthetic)',
  };
  const ctSeries = stableUid('ct-series');
  const ctSize = o.ctSize ?? 256;
  const slices: DemoInstance[] = [];
  for (let i = 0; i < (o.slices ?? 8); i++) {
    const p = ctPhantom(new Rng(8000 + i), ctSize, siteProfile('A'));
    const file = ctSlice({
      rows: ctSize,
      cols: ctSize,
      hu: p.hu,
      window: { center: 40, width: 400 },
      study: ct,
      seriesInstanceUID: ctSeries,
      seriesDescription: 'Abdomen axial',
      instanceNumber: i + 1,
    });
    const instance = { ...file.ref, lesion: lesionCentre(p.mask, ctSize, ctSize), width: ctSize, height: ctSize };
    slices.push(instance);
    files.push({ bytes: file.bytes, instance });
  }
  series.push({ description: 'CT slices (16-bit, HU)', instances: slices });
  return { files, series };
}
