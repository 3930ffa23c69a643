/**
 * An adapter activation as the browser path sees it, on the real server and Orthanc: a short real
 * fine-tuning job publishes adapter version 1 of the starter model; the browser path
 * (BrowserSegmenter, onnxruntime-web's wasm backend under Node) loads the base model's decoder and
 * an embedding; version 1 is activated through the HTTP API; then the downloads carry the new
 * version, a stale decoder/embedding pair is refused ("does not belong"), BrowserSegmenter fetches
 * both again, and its masks equal the server path's on version 1. Last, the viewer's own reaction
 * to a change: DecodeRouter.invalidate on a deactivation, and the Controller's own health poll
 * noticing a second activation, after which its next click decodes on the new version.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { EMBEDDING_HEADERS as H, type ModelsResponse, type SegmentResponse, embeddingQueryOf } from '@glmedsa/server/api';
import type { DemoInstance } from '@glmedsa/server/dist/src/demo/demo-studies.js';
import { dataDirWithSiteB, waitFor } from '@glmedsa/server/dist/test/jobs/job-fixtures.js';
import { GlmedsaClient } from '../../extension/src/client.js';
import { Controller } from '../../extension/src/controller.js';
import { DecodeUnavailable, type ModelVersion, type SessionLike, fetchEmbedding } from '../../extension/src/decode/index.js';
import { BrowserSegmenter } from '../../extension/src/segmenter/browser-segmenter.js';
import { DecodeRouter } from '../../extension/src/segmenter/decode-router.js';
import { ServerSegmenter } from '../../extension/src/segmenter/segmenter.js';
import type { Peers } from '../../extension/src/peers.js';
import { StatusStore } from '../../extension/src/status.js';
import type { OhifServices } from '../../extension/src/viewer-types.js';
import type { Stack } from '../helpers/stack.js';
import { assertSameMasks } from './same-masks.js';

// Compiled to test/dist/decode-build/test/decode: the shared helpers are the test/ project's (see browser-decode.test.ts).
const { startStack } = (await import(new URL('../../../helpers/stack.js', import.meta.url).href)) as typeof import('../helpers/stack.js');

ort.env.wasm.numThreads = 1;

// onnxruntime-web's wasm backend from node_modules: ort-backend's default wants the viewer's /ext/ort/ URL.
const createSession = async (bytes: Uint8Array) => ({
  session: (await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] })) as unknown as SessionLike,
  backend: 'wasm under Node',
});

const MODEL = 'starter';
// A few steps at a high rate: enough for the adapter (and the trained mask decoder) to change the masks' scores.
const HP = { steps: 6, batch: 2, lr: 3e-3, seed: 3, validateEvery: 6 };

let stack: Stack;
let base: string;
let siteDir: string;
let jobId: string;
let segmenter: BrowserSegmenter;
/** Image A is decoded before the activation, image B only after it. */
let imageA: DemoInstance;
let imageB: DemoInstance;
/** What the browser path held before the activation, and its answer for image A on the base model. */
let baseDecoder: ModelVersion;
let baseAnswer: SegmentResponse;

const ref = (i: DemoInstance) => ({ studyInstanceUID: i.studyInstanceUID, seriesInstanceUID: i.seriesInstanceUID, sopInstanceUID: i.sopInstanceUID, frame: 1 });
const click = (i: DemoInstance) => ({ model: MODEL, image: ref(i), points: [{ x: i.lesion!.x, y: i.lesion!.y, label: 1 as const }] });

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function serverSegment(i: DemoInstance): Promise<SegmentResponse> {
  const r = await postJson('/v1/segment', click(i));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as unknown as SegmentResponse;
}

/** The version headers of the decoder URL as the server answers them now (before following its redirect). */
async function decoderHeaders(): Promise<{ version: ModelVersion; location: string }> {
  const res = await fetch(`${base}/v1/models/${MODEL}/decoder.onnx`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  return { version: versionOf(res.headers), location: res.headers.get('location')! };
}

async function embeddingHeaders(i: DemoInstance): Promise<ModelVersion> {
  const res = await fetch(`${base}/v1/embeddings/${MODEL}?${embeddingQueryOf(ref(i))}`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return versionOf(res.headers);
}

function versionOf(h: Headers): ModelVersion {
  return { model: h.get(H.model)!, weightsSha256: h.get(H.weights)!, adapterVersion: h.get(H.adapterVersion)!, decoderSha256: h.get(H.decoderSha256)! };
}

async function activeAdapter(): Promise<string | null> {
  const res = await fetch(`${base}/v1/models`);
  const body = (await res.json()) as ModelsResponse;
  return body.models.find((m) => m.id === MODEL)!.activeAdapter;
}

/** Records the URLs BrowserSegmenter fetches (it calls the global fetch; the requests go through unchanged). */
async function fetchesDuring<T>(fn: () => Promise<T>): Promise<{ result: T; urls: string[] }> {
  const real = globalThis.fetch;
  const urls: string[] = [];
  globalThis.fetch = (input, init) => {
    urls.push(String(input instanceof Request ? input.url : input).replace(base, ''));
    return real(input, init);
  };
  try {
    return { result: await fn(), urls };
  } finally {
    globalThis.fetch = real;
  }
}

before(async () => {
  siteDir = dataDirWithSiteB('site-b', 8, 2);
  stack = await startStack({
    withoutModules: true,
    server: { jobs: { datasetRoot: path.join(siteDir, 'datasets'), threads: 1, queueLimit: 1, checkpointEvery: 25, releaseGraceMs: 1000 } },
  });
  base = stack.viewerUrl.replace(/\/$/, '');
  [imageA, imageB] = stack.demo.dermoscopy.instances as [DemoInstance, DemoInstance];
  assert.ok(imageA && imageB, 'two demo photographs');
  // The job trains in its child process while the base model is decoded below.
  const job = await postJson('/v1/jobs', { model: MODEL, dataset: { folder: 'site-b' }, hyperparameters: HP });
  assert.equal(job.status, 202, JSON.stringify(job.body));
  jobId = String(job.body['id']);
  segmenter = new BrowserSegmenter({ baseUrl: base, headers: () => ({}), createSession });
});

after(async () => {
  await stack?.stop();
  if (siteDir) rmSync(siteDir, { recursive: true, force: true });
});

describe('an adapter activation refetches both the embedding and the decoder', () => {
  test('before it: the browser path decodes on the base model, as the server does', async () => {
    baseAnswer = await segmenter.segment(click(imageA));
    assertSameMasks(await serverSegment(imageA), baseAnswer);
    baseDecoder = (await segmenter.decoder(MODEL)).version;
    assert.equal(baseDecoder.adapterVersion, 'base');
    assert.equal(await activeAdapter(), null);
  });

  test('a short real job publishes version 1, and activating it changes the version headers of both downloads', async () => {
    const job = await waitFor(
      'the fine-tuning job',
      async () => {
        const j = (await (await fetch(`${base}/v1/jobs/${jobId}`)).json()) as { state: string; reason?: string; adapterVersion: number | null };
        return j.state === 'queued' || j.state === 'running' ? undefined : j;
      },
      300_000,
    );
    assert.equal(job.state, 'succeeded', job.reason);
    assert.equal(job.adapterVersion, 1);

    const act = await postJson(`/v1/models/${MODEL}/adapters/1/activate`, {});
    assert.equal(act.status, 200, JSON.stringify(act.body));
    assert.equal(act.body['active'], 1);
    // What the viewer's health poll compares (Controller.noticeAdapters).
    assert.equal(await activeAdapter(), '1');

    const dec = await decoderHeaders();
    const emb = await embeddingHeaders(imageA);
    assert.deepEqual(emb, dec.version, 'the embedding and the decoder name the same version');
    assert.equal(dec.version.model, MODEL);
    assert.equal(dec.version.adapterVersion, '1');
    // Jobs train the adapters and the mask decoder (Med-SA's recipe): the merged model has other
    // weights and another decoder.onnx, so the decoder's checksum and its immutable URL change too.
    assert.notEqual(dec.version.weightsSha256, baseDecoder.weightsSha256, 'the merged weights are not the base weights');
    assert.notEqual(dec.version.decoderSha256, baseDecoder.decoderSha256, 'the decoder changes with the adapter version');
    assert.ok(dec.location.endsWith(`/decoder/${dec.version.decoderSha256}.onnx`), dec.location);
    const old = await fetch(`${base}/v1/models/${MODEL}/decoder/${baseDecoder.decoderSha256}.onnx`);
    assert.equal(old.status, 404, 'the base decoder is no longer served');
    assert.match(((await old.json()) as { detail: string }).detail, /adapter activation replaces it/);
  });

  test('the new embedding does not belong with the decoder loaded before the activation', async () => {
    await assert.rejects(
      fetchEmbedding({ baseUrl: base, fetch }, MODEL, ref(imageB), baseDecoder),
      (e: unknown) => e instanceof DecodeUnavailable && /does not belong/.test(e.reason) && /adapter 1\b/.test(e.reason) && /adapter base/.test(e.reason),
    );
  });

  test('BrowserSegmenter refuses the stale pair, fetches the decoder and the embedding again, and decodes on version 1 as the server does', async () => {
    const decoderBytes = segmenter.downloaded.decoder;
    // Image B has no embedding yet: its first fetch (against the base decoder still held) is refused,
    // which drops the model's decoder and embeddings; then both are fetched again, once.
    const { result, urls } = await fetchesDuring(() => segmenter.segment(click(imageB)));
    const embeddingUrl = `/v1/embeddings/${MODEL}?${embeddingQueryOf(ref(imageB))}`;
    assert.deepEqual(urls, [embeddingUrl, `/v1/models/${MODEL}/decoder.onnx`, embeddingUrl]);
    const now = await segmenter.decoder(MODEL);
    assert.equal(now.version.adapterVersion, '1');
    assert.deepEqual(now.version, (await decoderHeaders()).version);
    assert.ok(segmenter.downloaded.decoder > decoderBytes, 'the new decoder was downloaded');
    assert.equal(result.cached, false);
    assertSameMasks(await serverSegment(imageB), result);

    // Image A's base-model embedding went with the old decoder: it is fetched again on version 1.
    const again = await fetchesDuring(() => segmenter.segment(click(imageA)));
    assert.deepEqual(again.urls, [`/v1/embeddings/${MODEL}?${embeddingQueryOf(ref(imageA))}`]);
    assertSameMasks(await serverSegment(imageA), again.result);
    assert.notDeepEqual(
      again.result.masks.map((m) => m.score),
      baseAnswer.masks.map((m) => m.score),
      'version 1 answers the same click otherwise than the base model',
    );
  });

  test("the viewer's reaction to a change its health poll sees: DecodeRouter.invalidate drops version 1's pair and decodes on the base model again", async () => {
    const status = new StatusStore();
    const router = new DecodeRouter('browser', new ServerSegmenter(new GlmedsaClient({ baseUrl: base, authorization: () => null })), segmenter, status);
    const off = await postJson(`/v1/models/${MODEL}/adapters/deactivate`, {});
    assert.equal(off.status, 200, JSON.stringify(off.body));
    // The poll reads GET /v1/models; a changed activeAdapter is what makes the Controller invalidate.
    assert.equal(await activeAdapter(), null);
    const { result, urls } = await fetchesDuring(async () => {
      router.invalidate(MODEL);
      return router.segment(click(imageA));
    });
    assert.deepEqual(urls, [`/v1/models/${MODEL}/decoder.onnx`, `/v1/embeddings/${MODEL}?${embeddingQueryOf(ref(imageA))}`]);
    assert.equal(router.lastPath, 'browser');
    assert.deepEqual(status.get().decode, { path: 'browser', backend: 'wasm under Node', reason: null });
    assert.deepEqual((await segmenter.decoder(MODEL)).version, baseDecoder, 'the base decoder again');
    assertSameMasks(await serverSegment(imageA), result);
    assert.deepEqual(result.masks.map((m) => m.counts), baseAnswer.masks.map((m) => m.counts), 'the base model masks again');
  });

  test("the viewer's health poll (Controller, decodeIn 'browser') notices the activation, and the next click decodes on version 1", async () => {
    // No viewport is given, so neither OHIF's services nor Cornerstone are touched: only the poll and the router run.
    const controller = new Controller({ serverUrl: base, decodeIn: 'browser', healthIntervalSeconds: 0.2 }, {} as OhifServices, {} as Peers, createSession);
    const browser = controller.decoding.browser;
    controller.start();
    try {
      // The first poll learns the base model and loads its decoder ahead of the first click.
      await waitFor('the decoder of the base model', async () => (controller.status.get().decode?.path === 'browser' ? true : undefined), 30_000);
      assert.equal((await browser.decoder(MODEL)).version.adapterVersion, 'base');
      assertSameMasks(baseAnswer, await controller.decoding.segment(click(imageA)));

      const act = await postJson(`/v1/models/${MODEL}/adapters/1/activate`, {});
      assert.equal(act.status, 200, JSON.stringify(act.body));
      // Nothing but the poll tells the controller: until it runs, decoder() answers the decoder it holds.
      const tuned = await waitFor('the poll to drop the base decoder', async () => {
        const d = await browser.decoder(MODEL);
        return d.version.adapterVersion === '1' ? d : undefined;
      }, 30_000);
      assert.deepEqual(tuned.version, (await decoderHeaders()).version);
      assert.equal(controller.status.get().models.find((m) => m.id === MODEL)?.activeAdapter, '1', 'the panel shows version 1');
      const answer = await controller.decoding.segment(click(imageA));
      assert.equal(controller.decoding.lastPath, 'browser');
      assertSameMasks(await serverSegment(imageA), answer);
    } finally {
      controller.stop();
    }
  });
});
