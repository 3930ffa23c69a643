/**
 * Puts the demo studies into an Orthanc once, remembering where their lesions are (demo.json).
 * A data folder seeded by an earlier version (its CT study was 8 unrelated slices) gets the CT
 * volume instead: the old study is deleted and the demo written again.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '@glmedsa/models';
import { type BundledOrthanc, uploadDicom } from '../bundled-pacs/index.js';
import { DEMO_STUDIES, LEGACY_CT_STUDY, type DemoSeries, buildDemoStudies } from './demo-studies.js';

/** What demo.json holds; version 2 is the CT volume. */
const DEMO_VERSION = 2;
interface DemoRecord {
  version: number;
  series: DemoSeries[];
}

function headers(orthanc: BundledOrthanc): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/dicom+json' };
  if (orthanc.auth) h['authorization'] = `Basic ${Buffer.from(`${orthanc.auth.username}:${orthanc.auth.password}`).toString('base64')}`;
  return h;
}

async function studyExists(orthanc: BundledOrthanc, uid: string): Promise<boolean> {
  const res = await fetch(`${orthanc.dicomWebUrl}/studies?StudyInstanceUID=${uid}`, { headers: headers(orthanc) });
  if (!res.ok) return false;
  const text = await res.text();
  return text.trim().length > 2 && (JSON.parse(text) as unknown[]).length > 0;
}

/** Deletes a study by its StudyInstanceUID through Orthanc's REST API (nothing when absent). */
async function deleteStudy(orthanc: BundledOrthanc, uid: string): Promise<void> {
  const h = { ...headers(orthanc), accept: 'application/json' };
  const res = await fetch(`${orthanc.url}/tools/lookup`, { method: 'POST', headers: h, body: uid });
  if (!res.ok) return;
  const found = (await res.json()) as { Type: string; ID: string }[];
  for (const f of found) if (f.Type === 'Study') await fetch(`${orthanc.url}/studies/${f.ID}`, { method: 'DELETE', headers: h });
}

async function readRecord(file: string): Promise<DemoRecord | null> {
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  return parsed && typeof parsed === 'object' && (parsed as DemoRecord).version === DEMO_VERSION ? (parsed as DemoRecord) : null;
}

export async function seedDemo(orthanc: BundledOrthanc, log: (line: string) => void): Promise<DemoSeries[]> {
  const file = path.join(orthanc.dataDir, 'demo.json');
  const record = await readRecord(file);
  if (record && (await studyExists(orthanc, DEMO_STUDIES.dermoscopy)) && (await studyExists(orthanc, DEMO_STUDIES.ct))) return record.series;
  if (await studyExists(orthanc, LEGACY_CT_STUDY)) {
    log('replacing the old demo CT slices with the demo CT volume...');
    await deleteStudy(orthanc, LEGACY_CT_STUDY);
  }
  log('adding the demo studies to Orthanc (synthetic dermoscopy photographs and a CT volume)...');
  const { files, series } = buildDemoStudies();
  for (const f of files) await uploadDicom(orthanc, f.bytes);
  await writeJsonAtomic(file, { version: DEMO_VERSION, series } satisfies DemoRecord);
  return series;
}
