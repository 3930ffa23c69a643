/**
 * The product as a browser sees it: OHIF's study list loads from our server in Chromium, over
 * our same-origin DICOMweb proxy, and offers our mode; and a site's own OHIF at another origin
 * can import our modules and call the API when its origin is configured, and cannot when not.
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { EMBEDDING_HEADERS, embeddingQueryOf } from '@glmedsa/server/api';
import { consoleOf, launchChromium, openPage, screenshot } from './helpers/browser.js';
import { type Stack, startStack } from './helpers/stack.js';

/** A bare page served from its own loopback port: another origin than the server's. */
async function foreignSite(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end('<!doctype html><title>a site OHIF</title><p>foreign</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the viewer served by the server', () => {
  let stack: Stack;
  let browser: Browser;
  let allowed: Awaited<ReturnType<typeof foreignSite>>;
  let unlisted: Awaited<ReturnType<typeof foreignSite>>;

  before(async () => {
    allowed = await foreignSite();
    unlisted = await foreignSite();
    stack = await startStack({ corsOrigins: [allowed.origin] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    await allowed?.close();
    await unlisted?.close();
  });

  test("OHIF's study list shows the demo studies and offers the GLMed-SA mode", async () => {
    const page = await openPage(browser);
    try {
      await page.goto(stack.viewerUrl);
      const row = page.getByText('Demo, Dermoscopy', { exact: false }).first();
      await row.waitFor({ timeout: 120_000 });
      await page.getByText('Demo, Abdomen', { exact: false }).first().waitFor({ timeout: 10_000 });
      await row.click();
      const mode = page.getByRole('button', { name: 'GLMed-SA Segmentation' });
      await mode.waitFor({ timeout: 30_000 });
      await screenshot(page, 'serve-study-list');
    } catch (err) {
      await screenshot(page, 'serve-study-list-failed').catch(() => undefined);
      throw new Error(`${(err as Error).message}\nbrowser log:\n${consoleOf(page).slice(-30).join('\n')}`);
    } finally {
      await page.context().close();
    }
  });

  test('a configured foreign origin imports our modules and calls the API (with a CORS preflight)', async () => {
    const page = await openPage(browser);
    try {
      await page.goto(`${allowed.origin}/`);
      const result = await page.evaluate(async (base: string) => {
        const mode = (await import(`${base}/ext/glmedsa-mode.mjs`)) as { default?: { id?: string } };
        const extension = (await import(`${base}/ext/glmedsa-extension.mjs`)) as { default?: { id?: string } };
        // JSON with an Authorization header is not a simple request: the browser sends a preflight first.
        const res = await fetch(`${base}/v1/models`, { headers: { 'content-type': 'application/json', authorization: 'ApiKey none' } });
        return { mode: mode.default?.id, extension: extension.default?.id, status: res.status, models: ((await res.json()) as { models?: unknown[] }).models?.length };
      }, stack.viewerUrl.replace(/\/$/, ''));
      assert.equal(typeof result.mode, 'string');
      assert.equal(typeof result.extension, 'string');
      assert.equal(result.status, 200);
      assert.ok((result.models ?? 0) >= 1);
    } finally {
      await page.context().close();
    }
  });

  test('a configured foreign origin can read what browser decoding needs: the decoder and an embedding with their version headers', async () => {
    const page = await openPage(browser);
    const inst = stack.demo.dermoscopy.instances[0]!;
    const query = embeddingQueryOf({ studyInstanceUID: inst.studyInstanceUID, seriesInstanceUID: inst.seriesInstanceUID, sopInstanceUID: inst.sopInstanceUID, frame: 1 });
    try {
      await page.goto(`${allowed.origin}/`);
      const got = await page.evaluate(
        async ([base, q, names]) => {
          const headers = (r: Response) => Object.fromEntries(names!.split(',').map((n) => [n, r.headers.get(n)]));
          // The decoder's URL redirects to its checksummed name: the browser follows it under CORS too.
          const decoder = await fetch(`${base}/v1/models/starter/decoder.onnx`, { headers: { authorization: 'ApiKey none' } });
          const embedding = await fetch(`${base}/v1/embeddings/starter?${q}`, { headers: { authorization: 'ApiKey none' } });
          return { decoder: { status: decoder.status, bytes: (await decoder.arrayBuffer()).byteLength, headers: headers(decoder) }, embedding: { status: embedding.status, headers: headers(embedding) } };
        },
        [stack.viewerUrl.replace(/\/$/, ''), query, [...Object.values(EMBEDDING_HEADERS), 'etag'].join(',')],
      );
      assert.equal(got.decoder.status, 200);
      assert.ok(got.decoder.bytes > 1000);
      assert.equal(got.embedding.status, 200);
      for (const [name, value] of Object.entries(got.embedding.headers)) assert.ok(value, `the page reads the embedding's ${name} header`);
      for (const name of [EMBEDDING_HEADERS.model, EMBEDDING_HEADERS.adapterVersion, EMBEDDING_HEADERS.decoderSha256]) {
        assert.equal(got.decoder.headers[name], got.embedding.headers[name], `the decoder's ${name} header is readable and matches the embedding's`);
      }
    } finally {
      await page.context().close();
    }
  });

  test('an unlisted origin can neither import the modules nor read the API', async () => {
    const page = await openPage(browser);
    try {
      await page.goto(`${unlisted.origin}/`);
      const result = await page.evaluate(async (base: string) => {
        const outcome = (p: Promise<unknown>) => p.then(() => 'loaded', (e: Error) => `refused: ${e.message}`);
        return {
          module: await outcome(import(`${base}/ext/glmedsa-mode.mjs`)),
          api: await outcome(fetch(`${base}/v1/models`).then((r) => r.json())),
          preflighted: await outcome(fetch(`${base}/v1/models`, { headers: { authorization: 'ApiKey none' } })),
        };
      }, stack.viewerUrl.replace(/\/$/, ''));
      assert.match(result.module, /^refused/);
      assert.match(result.api, /^refused/);
      assert.match(result.preflighted, /^refused/);
    } finally {
      await page.context().close();
    }
  });

  test('state changes: a page of an unlisted site is refused (forms, no-cors fetches, STOW); the served viewer and the allowed origin are not', async () => {
    const base = stack.viewerUrl.replace(/\/$/, '');
    const refusals = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return [...text.matchAll(/^glmedsa_http_request_seconds_count\{[^}]*method="POST"[^}]*status="403"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await refusals();
    const page = await openPage(browser);
    try {
      await page.goto(`${unlisted.origin}/`);
      await page.evaluate(async (b: string) => {
        const frame = document.createElement('iframe');
        frame.name = 'sink';
        document.body.append(frame);
        for (const [action, enctype] of [
          [`${b}/v1/models/starter/adapters/deactivate`, 'application/x-www-form-urlencoded'],
          [`${b}/dicom-web/studies`, 'text/plain'],
        ] as const) {
          const form = document.createElement('form');
          Object.assign(form, { action, method: 'POST', enctype, target: 'sink' });
          const field = document.createElement('input');
          Object.assign(field, { name: 'a', value: '1' });
          form.append(field);
          document.body.append(form);
          const loaded = new Promise((r) => frame.addEventListener('load', r, { once: true }));
          form.submit();
          await loaded;
        }
        await fetch(`${b}/v1/embeddings`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"image":{"imageId":"x"}}' });
      }, base);
      assert.equal((await refusals()) - before, 3, 'the two forms and the no-cors fetch were refused (403)');

      // A page of the server's own origin, and the configured foreign OHIF, keep working.
      await page.goto(`${base}/healthz`);
      const own = await page.evaluate(async (b: string) => (await fetch(`${b}/v1/models/starter/adapters/deactivate`, { method: 'POST' })).status, base);
      assert.equal(own, 200);
      await page.goto(`${allowed.origin}/`);
      const foreign = await page.evaluate(
        async (b: string) => (await fetch(`${b}/v1/models/starter/adapters/deactivate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
        base,
      );
      assert.equal(foreign, 200);
    } finally {
      await page.context().close();
    }
  });

  test('the module and preflight headers a foreign OHIF needs, and the refusal of an unlisted origin', async () => {
    const base = stack.viewerUrl.replace(/\/$/, '');
    const mod = await fetch(`${base}/ext/glmedsa-mode.mjs`, { headers: { origin: allowed.origin } });
    assert.equal(mod.status, 200);
    assert.match(mod.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(mod.headers.get('access-control-allow-origin'), allowed.origin);
    assert.match(mod.headers.get('vary') ?? '', /Origin/i);
    // A 503's Retry-After and the request id are readable from the foreign page too.
    assert.match(mod.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
    assert.match(mod.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/);

    for (const path of ['/ext/glmedsa-extension.mjs', '/v1/segment']) {
      const pre = await fetch(`${base}${path}`, {
        method: 'OPTIONS',
        headers: { origin: allowed.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
      assert.equal(pre.status, 204, path);
      assert.equal(pre.headers.get('access-control-allow-origin'), allowed.origin);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/i);
      const refused = await fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin: unlisted.origin, 'access-control-request-method': 'POST' } });
      assert.equal(refused.status, 403, path);
      assert.equal(refused.headers.get('access-control-allow-origin'), null);
    }
    const refusedModule = await fetch(`${base}/ext/glmedsa-mode.mjs`, { headers: { origin: unlisted.origin } });
    assert.equal(refusedModule.status, 403);
    assert.match(((await refusedModule.json()) as { detail: string }).detail, /not allowed/);
  });
});
