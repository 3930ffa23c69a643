/**
 * Opt-in: keeps a SEG written by OHIF's own export as a test fixture. With
 * GLMEDSA_KEEP_OHIF_SEG=<dir>, the viewer test calls this after "Save as SEG": it downloads from
 * Orthanc the SEG instance(s) OHIF stored (the files as stored, byte for byte), the source images
 * they reference, and writes the accepted labelmap as the browser had it, with a made.json saying
 * how it was made. Without the variable it does nothing.
 *
 * The files go to <dir>/<kind>/ (replaced as a whole: written into a temporary sibling, renamed).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { OHIF_VERSION } from '@glmedsa/server/dist/src/viewer/ohif-package.js';
import type { Stack } from '../helpers/stack.js';

export const KEEP_OHIF_SEG_ENV = 'GLMEDSA_KEEP_OHIF_SEG';

export interface KeptSeg {
  /** `dermoscopy` or `ct`: the folder's name. */
  kind: string;
  studyInstanceUID: string;
  /** The SEG series OHIF stored. */
  segSeriesInstanceUID: string;
  /** The image the labelmap is of. */
  image: { sopInstanceUID: string; width: number; height: number };
  /** The accepted labelmap as the browser had it: 0/1 per pixel, row-major. */
  accepted: Uint8Array;
  /** What the test did before saving, in a sentence. */
  step: string;
}

type Tags = Record<string, unknown>;

/** Orthanc's REST API of the stack (not DICOMweb: its /file gives the instance as stored). */
function orthanc(stack: Stack) {
  const headers: Record<string, string> = {};
  const a = stack.orthanc.auth;
  if (a) headers['authorization'] = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
  const get = async (p: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(`${stack.orthanc.url}${p}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
    if (!res.ok) throw new Error(`Orthanc ${init.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`);
    return res;
  };
  return {
    json: async <T>(p: string, init?: RequestInit): Promise<T> => (await (await get(p, init)).json()) as T,
    bytes: async (p: string): Promise<Uint8Array> => new Uint8Array(await (await get(p)).arrayBuffer()),
    text: async (p: string): Promise<string> => (await (await get(p)).text()).trim(),
  };
}

/** Every ReferencedSOPInstanceUID anywhere in a simplified tag tree. */
function referencedSops(tags: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(tags)) for (const t of tags) referencedSops(t, out);
  else if (tags && typeof tags === 'object') {
    for (const [k, v] of Object.entries(tags as Tags)) {
      if (k === 'ReferencedSOPInstanceUID' && typeof v === 'string') out.add(v.trim());
      else referencedSops(v, out);
    }
  }
  return out;
}

/** Writes the fixture when GLMEDSA_KEEP_OHIF_SEG is set; returns the folder written, or null. */
export async function keepOhifSeg(stack: Stack, seg: KeptSeg): Promise<string | null> {
  const root = process.env[KEEP_OHIF_SEG_ENV];
  if (!root) return null;
  const pacs = orthanc(stack);
  const target = path.resolve(root, seg.kind);
  const temp = `${target}.partial-${process.pid}`;
  await fs.rm(temp, { recursive: true, force: true });
  await fs.mkdir(temp, { recursive: true });

  const describe = async (id: string, file: string) => {
    const tags = await pacs.json<Tags>(`/instances/${id}/tags?simplify`);
    await fs.writeFile(path.join(temp, file), await pacs.bytes(`/instances/${id}/file`));
    return {
      tags,
      entry: {
        file,
        sopInstanceUID: String(tags['SOPInstanceUID']),
        seriesInstanceUID: String(tags['SeriesInstanceUID']),
        sopClassUID: String(tags['SOPClassUID']),
        transferSyntaxUID: await pacs.text(`/instances/${id}/metadata/TransferSyntax`),
        rows: Number(tags['Rows']),
        columns: Number(tags['Columns']),
        frames: Number(tags['NumberOfFrames'] ?? 1),
      },
    };
  };

  const [series] = await pacs.json<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: seg.segSeriesInstanceUID });
  if (!series) throw new Error(`the SEG series ${seg.segSeriesInstanceUID} is not in Orthanc`);
  const instanceIds = (await pacs.json<{ Instances: string[] }>(`/series/${series.ID}`)).Instances;
  const segs = [];
  const sources = new Set<string>();
  for (const [i, id] of instanceIds.entries()) {
    const d = await describe(id, instanceIds.length === 1 ? 'seg.dcm' : `seg-${i + 1}.dcm`);
    segs.push({ ...d.entry, seriesDescription: String(d.tags['SeriesDescription'] ?? ''), bitsAllocated: Number(d.tags['BitsAllocated']) });
    for (const uid of referencedSops(d.tags)) sources.add(uid);
  }
  const images = [];
  for (const [i, uid] of [...sources].sort().entries()) {
    const [hit] = await pacs.json<{ ID: string; Type: string }[]>('/tools/lookup', { method: 'POST', body: uid });
    if (!hit || hit.Type !== 'Instance') throw new Error(`the SEG references ${uid}, which is not an instance in Orthanc`);
    images.push((await describe(hit.ID, sources.size === 1 ? 'source.dcm' : `source-${i + 1}.dcm`)).entry);
  }

  const { width, height, sopInstanceUID } = seg.image;
  if (seg.accepted.length !== width * height) throw new Error(`the labelmap has ${seg.accepted.length} values, the image ${width}x${height}`);
  await fs.writeFile(path.join(temp, 'accepted-labelmap.bin'), seg.accepted);
  const made = {
    what: 'A DICOM SEG written by OHIF\'s own export (the data source\'s storeSegmentation, through the GLMed-SA panel\'s "Save as SEG"), with its source image(s) and the labelmap the browser held when it was saved',
    ohif: { package: '@ohif/app', version: OHIF_VERSION },
    madeAt: new Date().toISOString(),
    madeBy: `test/e2e/viewer.test.ts with ${KEEP_OHIF_SEG_ENV} set`,
    kind: seg.kind,
    step: seg.step,
    studyInstanceUID: seg.studyInstanceUID,
    seg: segs,
    sources: images,
    labelmap: {
      file: 'accepted-labelmap.bin',
      of: { sopInstanceUID, frame: 1 },
      width,
      height,
      format: 'uint8, one byte per pixel, row-major (width x height), 0 background, 1 the accepted mask; window.glmedsa.labelmap() read just before saving',
      foregroundPixels: seg.accepted.reduce((n, v) => n + (v ? 1 : 0), 0),
    },
  };
  await fs.writeFile(path.join(temp, 'made.json'), `${JSON.stringify(made, null, 2)}\n`);
  await fs.rm(target, { recursive: true, force: true });
  await fs.rename(temp, target);
  return target;
}
