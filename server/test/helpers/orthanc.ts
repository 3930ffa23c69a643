/**
 * One real Orthanc per test file: started in a temp folder on a free loopback port before the
 * file's tests, stopped (and its folder removed) after them.
 */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DicomWebClient, type DicomWebClientOptions } from '../../src/dicom/dicomweb-client.js';
import { startBundledOrthanc, uploadDicom, type BundledOrthanc, type OrthancUploadResult, type BundledOrthancOptions } from '../../src/bundled-pacs/index.js';
import type { DicomFile } from './dicom-factory.js';

/** Access to the file's Orthanc (valid inside tests, after `before` ran). */
export interface TestOrthanc {
  readonly handle: BundledOrthanc;
  /** A DICOMweb client for this Orthanc (credentials filled in when auth is on). */
  client(options?: Partial<DicomWebClientOptions>): DicomWebClient;
  /** Stores a built file. */
  upload(file: DicomFile | Uint8Array): Promise<OrthancUploadResult>;
}

/** Starts a fresh Orthanc in a temp folder (the caller stops it and removes `handle.dataDir`). */
export async function startTestOrthanc(options: Partial<BundledOrthancOptions> = {}): Promise<BundledOrthanc> {
  const dataDir = await mkdtemp(join(tmpdir(), 'glmedsa-orthanc-'));
  try {
    return await startBundledOrthanc({ ...options, dataDir, httpPort: 0, stopGraceMs: 5_000 });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Stops an Orthanc started by {@link startTestOrthanc} and removes its folder. Its data is thrown
 * away, so it is killed at once (a graceful stop costs Orthanc 1.10 about 2 s) unless `graceful`.
 */
export async function stopTestOrthanc(handle: BundledOrthanc | undefined, graceful = false): Promise<void> {
  if (handle === undefined) return;
  await handle.stop(graceful ? {} : { graceMs: 0 });
  await rm(handle.dataDir, { recursive: true, force: true });
}

/** Registers before/after hooks that run one Orthanc for the current test file. */
export function useOrthanc(options: Partial<BundledOrthancOptions> = {}): TestOrthanc {
  let handle: BundledOrthanc | undefined;
  before(async () => {
    handle = await startTestOrthanc(options);
  });
  after(async () => {
    await stopTestOrthanc(handle);
  });
  const current = (): BundledOrthanc => {
    if (handle === undefined) throw new Error('Orthanc is not running (used outside a test?)');
    return handle;
  };
  return {
    get handle() {
      return current();
    },
    client(clientOptions = {}) {
      const h = current();
      return new DicomWebClient({ baseUrl: h.dicomWebUrl, auth: h.auth, timeoutMs: 10_000, ...clientOptions });
    },
    upload(file) {
      return uploadDicom(current(), file instanceof Uint8Array ? file : file.bytes);
    },
  };
}
