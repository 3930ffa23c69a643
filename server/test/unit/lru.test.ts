import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from '../../src/cache/lru.js';
import { MaskStore } from '../../src/segmentation/mask-store.js';

test('the LRU evicts least recently used entries past its byte budget', () => {
  const evicted: string[] = [];
  const lru = new Lru<Uint8Array>({ maxSize: 10, sizeOf: (v) => v.length, onEvict: (k) => evicted.push(k) });
  lru.set('a', new Uint8Array(4));
  lru.set('b', new Uint8Array(4));
  lru.get('a'); // a is now the most recent
  lru.set('c', new Uint8Array(4));
  assert.deepEqual(evicted, ['b']);
  assert.equal(lru.size, 8);
  lru.set('huge', new Uint8Array(11));
  assert.equal(lru.get('huge'), undefined, 'an entry larger than the cache is not kept');
});

test('concurrent loads of one key run once', async () => {
  const lru = new Lru<number>({ maxSize: 100 });
  let runs = 0;
  const load = () => new Promise<number>((resolve) => setTimeout(() => resolve(++runs), 20));
  const results = await Promise.all([lru.getOrLoad('k', load), lru.getOrLoad('k', load), lru.getOrLoad('k', load)]);
  assert.equal(runs, 1);
  assert.deepEqual(results.map((r) => r.value), [1, 1, 1]);
  assert.deepEqual(results.map((r) => r.cached), [false, true, true]);
  assert.equal((await lru.getOrLoad('k', load)).cached, true);
});

test('a failed load is not cached', async () => {
  const lru = new Lru<number>({ maxSize: 100 });
  await assert.rejects(lru.getOrLoad('k', () => Promise.reject(new Error('PACS down'))), /PACS down/);
  assert.equal((await lru.getOrLoad('k', () => Promise.resolve(7))).value, 7);
});

test('a caller that joined a load another caller gave up loads once more itself; a real failure comes back', async () => {
  const lru = new Lru<number>({ maxSize: 100 });
  const given = new AbortController();
  let calls = 0;
  const started = lru.getOrLoad('k', () => {
    calls++;
    return new Promise<number>((_, reject) => given.signal.addEventListener('abort', () => reject(new Error('cancelled by its client'))));
  });
  const joined = lru.getOrLoad('k', async () => {
    calls++;
    return 42;
  });
  given.abort();
  await assert.rejects(started, /cancelled by its client/);
  assert.deepEqual(await joined, { value: 42, cached: false });
  assert.equal(calls, 2);
  // a load that fails for everyone: the joiner tries once itself and gets its own failure
  let tries = 0;
  const failing = () => {
    tries++;
    return new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`PACS down (${tries})`)), 5));
  };
  const [a, b] = await Promise.allSettled([lru.getOrLoad('j', failing), lru.getOrLoad('j', failing)]);
  assert.equal(a.status, 'rejected');
  assert.equal(b.status, 'rejected');
  assert.equal(tries, 2);
});

test('entries expire after their time to live', async () => {
  const lru = new Lru<number>({ maxSize: 10, ttlMs: 20 });
  lru.set('k', 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(lru.get('k'), undefined);
});

test('a stored mask refines only its own image on its own model; another adapter version drops it', () => {
  const store = new MaskStore(10, 60_000);
  const origin = { image: 'image-a', model: 'starter', version: 'abc#base' };
  const id = store.put(origin, new Float32Array(4));
  assert.equal(store.take(id, origin).logits?.length, 4);
  assert.equal(store.take(id, { ...origin }).dropped, null);
  assert.throws(() => store.take(id, { ...origin, image: 'image-b' }), /belongs to another image/);
  assert.throws(() => store.take(id, { ...origin, image: 'image-b', version: 'abc#1' }), /belongs to another image/, 'the image is checked first');
  assert.throws(() => store.take(id, { ...origin, model: 'vit-b' }), /was made by model starter; it cannot be used with model vit-b/);
  assert.deepEqual(store.take(id, { ...origin, version: 'abc#1' }), { logits: null, dropped: 'adapter version changed' });
  assert.throws(() => store.take('00000000-0000-0000-0000-000000000000', origin), /unknown or has expired/);
});
