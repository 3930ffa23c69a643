/** Puts the demo studies into an Orthanc once, remembering where their lesions are (demo.json). */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '@glmedsa/models';
import { type BundledOrthanc, uploadDicom } from '../bundled-pacs/index.js';
import { DEMO_STUDIES, type DemoSeries, buildDemoStudies } from './demo-studies.js';

async function studyExists(orthanc: BundledOrthanc, uid: string): Promise<boolean> {
  const headers: Record<string, string> = { accept: 'application/dicom+json' };
  if (orthanc.auth) headers['authorization'] = `Basic ${Buffer.from(`${orthanc.auth.username}:${orthanc.auth.password}`).toString('base64')}`;
  const res = await fetch(`${orthanc.dicomWebUrl}/studies?StudyInstanceUID=${uid}`, { headers });
  if (!res.ok) return false;
  const text = await res.text();
  return text.trim().length > 2 && (JSON.parse(text) as unknown[]).length > 0;
}

export async function seedDemo(orthanc: BundledOrthanc, log: (line: string) => void): Promise<DemoSeries[]> {
  const file = path.join(orthanc.dataDir, 'demo.json');
  if (existsSync(file) && (await studyExists(orthanc, DEMO_STUDIES.dermoscopy)) && (await studyExists(orthanc, DEMO_STUDIES.ct))) {
    return JSON.parse(await fs.readFile(file, 'utf8')) as DemoSeries[];
  }
  log('adding the demo studies to Orthanc (synthetic dermoscopy photographs and CT slices)...');
  const { files, series } = buildDemoStudies();
  for (const f of files) await uploadDicom(orthanc, f.bytes);
  await writeJsonAtomic(file, series);
  return series;
}
