/**
 * /metrics reports each thread's V8 memory and what the in-memory stores hold, so a rising RSS
 * can be traced to a thread or a store (the soak bench reads these).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import type { RunningServer } from '../../src/server.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { startTestServer } from '../helpers/server.js';

const pacs = useOrthanc();

/** series name -> labels string -> value, for the metrics named `prefix...`. */
async function metrics(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describe('memory on /metrics', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(pacs.handle.dicomWebUrl, { workers: { count: 2, threads: 1 } });
  });
  after(async () => {
    await server?.close();
  });

  test('glmedsa_thread_memory_bytes has heapUsed, external and arrayBuffers for the main thread and each worker', async () => {
    const series = await metrics(server.url, 'glmedsa_thread_memory_bytes');
    const threads = new Set([...series.keys()].map((k) => /thread="([^"]+)"/.exec(k)?.[1]));
    assert.equal(threads.size, 3, `main and two workers: ${[...threads].join(', ')}`);
    assert.ok(threads.has('main'));
    for (const t of threads) {
      for (const kind of ['heapUsed', 'external', 'arrayBuffers']) {
        const v = series.get(`{thread="${t}",kind="${kind}"}`);
        assert.ok(v !== undefined && v >= 0, `${t} ${kind}: ${v}`);
      }
      assert.ok(series.get(`{thread="${t}",kind="heapUsed"}`)! > 1 << 20, `${t} uses more than 1 MB of heap`);
    }
  });

  test('glmedsa_upload_cache_bytes counts the bytes of each distinct upload', async () => {
    const before = (await metrics(server.url, 'glmedsa_upload_cache_bytes')).get('') ?? NaN;
    const png = encodePng(dermoscopyPhantom(new Rng(5), 96, siteProfile('A')).image);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
      assert.equal(r.status, 201);
    }
    const after = (await metrics(server.url, 'glmedsa_upload_cache_bytes')).get('') ?? NaN;
    assert.equal(after - before, png.length, 'the same image uploaded twice is stored once');
  });
});
