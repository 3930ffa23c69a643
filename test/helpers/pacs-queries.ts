/**
 * What a browser test asks the stack's Orthanc directly (not through the viewer): DICOM JSON over
 * its DICOMweb plugin, the SEG series of a study, and an instance's file as Orthanc stored it.
 */
import type { Stack } from './stack.js';

function authHeaders(stack: Stack): Record<string, string> {
  const a = stack.orthanc.auth;
  return a ? { authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}` } : {};
}

/** A QIDO/WADO-RS JSON answer of Orthanc's DICOMweb plugin (empty on a miss). */
export async function dicomJson(stack: Stack, path: string): Promise<any[]> {
  const res = await fetch(`${stack.orthanc.dicomWebUrl}${path}`, { headers: { accept: 'application/dicom+json', ...authHeaders(stack) } });
  if (!res.ok) return [];
  const text = await res.text();
  return text.trim() ? (JSON.parse(text) as any[]) : [];
}

/** The Series Instance UIDs of the SEG series of a study. */
export async function segSeries(stack: Stack, studyUid: string): Promise<string[]> {
  const series = await dicomJson(stack, `/studies/${studyUid}/series`);
  return series.filter((s) => s['00080060']?.Value?.[0] === 'SEG').map((s) => s['0020000E'].Value[0] as string);
}

/** The files (as Orthanc stored them, byte for byte) of the instances of a series. */
export async function seriesFiles(stack: Stack, seriesUid: string): Promise<Uint8Array[]> {
  const headers = authHeaders(stack);
  const lookup = (await (await fetch(`${stack.orthanc.url}/tools/lookup`, { method: 'POST', body: seriesUid, headers })).json()) as { ID: string; Type: string }[];
  const hit = lookup.find((l) => l.Type === 'Series');
  if (!hit) throw new Error(`the series ${seriesUid} is not in Orthanc`);
  const series = (await (await fetch(`${stack.orthanc.url}/series/${hit.ID}`, { headers })).json()) as { Instances: string[] };
  return Promise.all(series.Instances.map(async (id) => new Uint8Array(await (await fetch(`${stack.orthanc.url}/instances/${id}/file`, { headers })).arrayBuffer())));
}
