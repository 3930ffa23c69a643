/**
 * Failure cases through a real Orthanc and through misbehaving servers: every one must end in a
 * typed error with the right status hint, quickly, never a hang.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DicomWebClient } from '../../src/dicom/dicomweb-client.js';
import {
  CorruptImage,
  FrameOutOfRange,
  InvalidImageReference,
  NotAnImage,
  PacsAuthRejected,
  PacsBadResponse,
  PacsNotFound,
  PacsTimeout,
  PacsUnavailable,
  type DicomError,
} from '../../src/dicom/errors.js';
import type { InstanceRef } from '../../src/dicom/image-ref.js';
import { loadFrame } from '../../src/dicom/image-source.js';
import { statusOf } from '../../src/http/problem.js';
import { OrthancUploadError, findFreePort, uploadDicom } from '../../src/bundled-pacs/index.js';
import { basicTextSr, ctSlice, jpeg2000Image, newStudy, newUid, segObject, shortPixelData, truncate } from '../helpers/dicom-factory.js';
import { httpServer, silentServer } from '../helpers/fake-pacs.js';
import { startTestOrthanc, stopTestOrthanc, useOrthanc } from '../helpers/orthanc.js';

const pacs = useOrthanc();
const study = newStudy('error cases');

/** Asserts that `promise` rejects with an instance of `type` that the API answers with `status`; returns the error. */
async function rejectsWith<T extends DicomError>(promise: Promise<unknown>, type: new (...args: never[]) => T, status: number): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(statusOf(caught), status);
  assert.ok(caught.message.length > 20 && !/undefined|\[object/.test(caught.message), `readable message: ${caught.message}`);
  return caught;
}

/** A fetch that counts calls before delegating to the real one. */
function countingFetch(): { fetch: (input: string, init: RequestInit) => Promise<Response>; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

function tinyCt(): ReturnType<typeof ctSlice> {
  return ctSlice({ rows: 2, cols: 2, hu: [0, 100, 200, 300], study });
}

describe('unknown and invalid references', () => {
  it('unknown UIDs -> PacsNotFound (404) for metadata, frames and loadFrame', async () => {
    const file = tinyCt();
    await pacs.upload(file);
    const client = pacs.client();
    const unknownSop: InstanceRef = { ...file.ref, sopInstanceUID: newUid() };
    const unknownStudy: InstanceRef = { ...file.ref, studyInstanceUID: newUid() };
    await rejectsWith(client.getInstanceMetadata(unknownSop), PacsNotFound, 404);
    await rejectsWith(client.getInstanceMetadata(unknownStudy), PacsNotFound, 404);
    await rejectsWith(client.getFrame(unknownSop, 1), PacsNotFound, 404);
    await rejectsWith(loadFrame(client, unknownStudy, 1), PacsNotFound, 404);
  });

  it('malformed UIDs are rejected before any request (400)', async () => {
    const counter = countingFetch();
    const client = pacs.client({ fetch: counter.fetch });
    const good = tinyCt().ref;
    const bad = ['1.2.abc', '1..2', '', '1.2.', '../../instances', '1.2/3', '1.2?x=1', '1'.repeat(65), ' 1.2', '1.2%2F3'];
    for (const uid of bad) {
      for (const key of ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID'] as const) {
        const ref = { ...good, [key]: uid };
        await rejectsWith(client.getInstanceMetadata(ref), InvalidImageReference, 400);
        await rejectsWith(client.getFrame(ref, 1), InvalidImageReference, 400);
        await rejectsWith(loadFrame(client, ref, 1), InvalidImageReference, 400);
      }
    }
    const notAString = { ...good, sopInstanceUID: 12 as unknown as string };
    await rejectsWith(client.getInstanceMetadata(notAString), InvalidImageReference, 400);
    assert.equal(counter.calls(), 0);
  });
});

describe('frames', () => {
  it('frame 0, negative or past Number of Frames -> FrameOutOfRange; fractional -> InvalidImageReference', async () => {
    const file = tinyCt();
    await pacs.upload(file);
    const counter = countingFetch();
    const client = pacs.client({ fetch: counter.fetch });
    await rejectsWith(client.getFrame(file.ref, 0), FrameOutOfRange, 422);
    await rejectsWith(client.getFrame(file.ref, -3), FrameOutOfRange, 422);
    await rejectsWith(client.getFrame(file.ref, 1.5), InvalidImageReference, 400);
    assert.equal(counter.calls(), 0, 'checked before any request');
    const past = await rejectsWith(loadFrame(client, file.ref, 2), FrameOutOfRange, 422);
    assert.equal(past.numberOfFrames, 1);
    assert.match(past.message, /has 1 frame/);
    // Without metadata the PACS decides: Orthanc answers 400 "Parameter out of range".
    await rejectsWith(client.getFrame(file.ref, 7), FrameOutOfRange, 422);
  });
});

describe('objects that are not images', () => {
  it('a Basic Text SR -> NotAnImage (422), from the metadata and from a bare frame request', async () => {
    const sr = basicTextSr({ study });
    await pacs.upload(sr);
    const client = pacs.client();
    await rejectsWith(loadFrame(client, sr.ref, 1), NotAnImage, 422);
    // Orthanc answers 500 "Not implemented yet" for frames of objects without pixel data.
    await rejectsWith(client.getFrame(sr.ref, 1), NotAnImage, 422);
  });

  it('a Segmentation (it has Pixel Data) -> NotAnImage', async () => {
    const seg = segObject({ study });
    await pacs.upload(seg);
    const error = await rejectsWith(loadFrame(pacs.client(), seg.ref, 1), NotAnImage, 422);
    assert.match(error.message, /segmentation/);
  });
});

describe('broken and undecodable data in the PACS', () => {
  it('a truncated file is refused by Orthanc at upload (HTTP 400)', async () => {
    const cut = truncate(ctSlice({ rows: 32, cols: 32, hu: new Int16Array(1024), study }).bytes);
    await assert.rejects(pacs.upload(cut), (error: unknown) => error instanceof OrthancUploadError && error.status === 400);
  });

  it('a stored file with short pixel data -> CorruptImage (422)', async () => {
    const file = shortPixelData({ study });
    await pacs.upload(file);
    await rejectsWith(loadFrame(pacs.client(), file.ref, 1), CorruptImage, 422);
  });

  it('JPEG 2000 that Orthanc 1.10 cannot decode, with a codestream cut inside its header -> CorruptImage naming the codestream', async () => {
    // The server decodes JPEG 2000 itself (codecs/); a syntax neither decodes is in codecs/codecs-pixels.test.ts.
    const file = jpeg2000Image({ study });
    await pacs.upload(file);
    const error = await rejectsWith(loadFrame(pacs.client(), file.ref, 1), CorruptImage, 422);
    assert.match(error.detail ?? '', /JPEG 2000/);
  });
});

describe('the PACS failing', () => {
  it('Orthanc stopped between metadata and frame -> PacsUnavailable (502), quickly', async () => {
    const orthanc = await startTestOrthanc();
    try {
      const file = tinyCt();
      await uploadDicom(orthanc, file.bytes);
      const client = new DicomWebClient({ baseUrl: orthanc.dicomWebUrl, timeoutMs: 5_000 });
      const metadata = await client.getInstanceMetadata(file.ref);
      await orthanc.stop();
      const started = Date.now();
      await rejectsWith(loadFrame(client, file.ref, 1, { metadata }), PacsUnavailable, 502);
      await rejectsWith(client.getInstanceMetadata(file.ref), PacsUnavailable, 502);
      assert.ok(Date.now() - started < 2_000);
    } finally {
      await stopTestOrthanc(orthanc);
    }
  });

  it('nothing listening -> PacsUnavailable', async () => {
    const port = await findFreePort();
    const client = new DicomWebClient({ baseUrl: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 2_000 });
    await rejectsWith(client.getInstanceMetadata(tinyCt().ref), PacsUnavailable, 502);
  });

  it('a server that accepts and never answers -> PacsTimeout (504) within the deadline', async () => {
    const server = await silentServer();
    try {
      const client = new DicomWebClient({ baseUrl: `${server.url}/dicom-web`, timeoutMs: 300 });
      const started = Date.now();
      await rejectsWith(client.getInstanceMetadata(tinyCt().ref), PacsTimeout, 504);
      await rejectsWith(client.getFrame(tinyCt().ref, 1), PacsTimeout, 504);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 550 && elapsed < 2_000, `two 300 ms deadlines took ${elapsed} ms`);
      assert.ok(server.hits() >= 1);
    } finally {
      await server.close();
    }
  });

  it('headers then a stalled body -> PacsTimeout; a body cut off mid-way -> PacsUnavailable', async () => {
    const stalled = await httpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json', 'content-length': '1000' });
      response.write('[{');
    });
    const cut = await httpServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json', 'content-length': '1000' });
      response.write('[{"00080016":', () => setTimeout(() => request.socket.destroy(), 20));
    });
    try {
      const ref = tinyCt().ref;
      await rejectsWith(new DicomWebClient({ baseUrl: stalled.url, timeoutMs: 300 }).getInstanceMetadata(ref), PacsTimeout, 504);
      await rejectsWith(new DicomWebClient({ baseUrl: cut.url, timeoutMs: 3_000 }).getInstanceMetadata(ref), PacsUnavailable, 502);
      assert.equal(cut.hits(), 3, 'a GET whose answer is cut off is tried three times in all');
    } finally {
      await stalled.close();
      await cut.close();
    }
  });

  it('an answer cut off once (a keep-alive socket the PACS closed) is read again, and the caller gets it', async () => {
    const ref = tinyCt().ref;
    const metadata = JSON.stringify([{ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] } }]);
    const once = await httpServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json', 'content-length': String(Buffer.byteLength(metadata)) });
      if (once.hits() === 1) response.write(metadata.slice(0, 10), () => setTimeout(() => request.socket.destroy(), 20));
      else response.end(metadata);
    });
    try {
      const answer = await new DicomWebClient({ baseUrl: once.url, timeoutMs: 3_000 }).getInstanceMetadata(ref);
      assert.equal(once.hits(), 2);
      assert.deepEqual(answer['00080016'], { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] });
    } finally {
      await once.close();
    }
  });

  it('malformed answers -> PacsBadResponse (502); oversized answers are cut off', async () => {
    const server = await httpServer((request, response) => {
      if (request.url?.endsWith('/metadata')) {
        response.writeHead(200, { 'content-type': 'application/dicom+json' });
        response.end(request.url.includes('/studies/1.1/') ? 'not json' : JSON.stringify([{ '00280010': { vr: 'US', Value: [1] } }, {}]));
      } else if (request.url?.includes('/studies/1.3/')) {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(Buffer.alloc(4096));
      } else {
        response.writeHead(200, { 'content-type': 'multipart/related; type="application/octet-stream"; boundary=abc' });
        response.end('--abc\r\nContent-Type: application/octet-stream\r\n\r\n\x01\x02\x03');
      }
    });
    try {
      const client = new DicomWebClient({ baseUrl: server.url, timeoutMs: 2_000, maxResponseBytes: 1024 });
      const ref = (study: string): InstanceRef => ({ studyInstanceUID: study, seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' });
      await rejectsWith(client.getInstanceMetadata(ref('1.1')), PacsBadResponse, 502);
      await rejectsWith(client.getInstanceMetadata(ref('1.2')), PacsBadResponse, 502);
      await rejectsWith(client.getFrame(ref('1.2'), 1), PacsBadResponse, 502);
      const big = await rejectsWith(client.getFrame(ref('1.3'), 1), PacsBadResponse, 502);
      assert.match(big.detail ?? '', /exceeds the limit/);
    } finally {
      await server.close();
    }
  });

  it("the caller's abort signal ends the request with the caller's reason", async () => {
    const server = await silentServer();
    try {
      const client = new DicomWebClient({ baseUrl: server.url, timeoutMs: 10_000 });
      const controller = new AbortController();
      const reason = new Error('client went away');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(client.getInstanceMetadata(tinyCt().ref, { signal: controller.signal }), (error: unknown) => error === reason);
    } finally {
      await server.close();
    }
  });
});

describe('PACS authentication', () => {
  it('wrong or missing credentials -> PacsAuthRejected (502); right ones work', async () => {
    const orthanc = await startTestOrthanc({ username: 'glmedsa', password: 's3cret' });
    try {
      const file = tinyCt();
      await uploadDicom(orthanc, file.bytes);
      const anonymous = new DicomWebClient({ baseUrl: orthanc.dicomWebUrl });
      const wrong = new DicomWebClient({ baseUrl: orthanc.dicomWebUrl, auth: { username: 'glmedsa', password: 'nope' } });
      const right = new DicomWebClient({ baseUrl: orthanc.dicomWebUrl, auth: { username: 'glmedsa', password: 's3cret' } });
      await rejectsWith(anonymous.getInstanceMetadata(file.ref), PacsAuthRejected, 502);
      await rejectsWith(wrong.getFrame(file.ref, 1), PacsAuthRejected, 502);
      const { pixels } = await loadFrame(right, file.ref, 1);
      assert.equal(pixels.channels, 1);
    } finally {
      await stopTestOrthanc(orthanc);
    }
  });
});
