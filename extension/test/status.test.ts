/** The panel's store: patches merge, listeners hear every change until they unsubscribe. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PanelState, StatusStore, modelLabel } from '../src/status.js';

test('the store starts unknown and empty', () => {
  const s = new StatusStore().get();
  assert.equal(s.server, 'unknown');
  assert.equal(s.error, null);
  assert.equal(s.busy, false);
  assert.deepEqual(s.models, []);
  assert.equal(s.prompts, 0);
});

test('a patch changes only its keys and gives a new state object', () => {
  const store = new StatusStore();
  const before = store.get();
  store.set({ server: 'up', device: 'CPU' });
  store.set({ error: 'The PACS is unavailable.', errorKind: 'pacs' });
  const after = store.get();
  assert.notEqual(after, before);
  assert.equal(before.server, 'unknown', 'the old state is not changed in place');
  assert.equal(after.server, 'up');
  assert.equal(after.device, 'CPU');
  assert.equal(after.error, 'The PACS is unavailable.');
  assert.equal(after.errorKind, 'pacs');
});

test('listeners hear each change with the new state, and stop after unsubscribing', () => {
  const store = new StatusStore();
  const heard: PanelState[] = [];
  const other: PanelState[] = [];
  const off = store.subscribe((s) => heard.push(s));
  store.subscribe((s) => other.push(s));
  store.set({ busy: true });
  store.set({ prompts: 2 });
  off();
  store.set({ busy: false });
  assert.deepEqual(heard.map((s) => [s.busy, s.prompts]), [[true, 0], [true, 2]]);
  assert.equal(other.length, 3);
  assert.equal(other[2], store.get());
});

test("both panels call a model by the server's display name, by its id when the name is empty", () => {
  assert.equal(modelLabel({ id: 'starter', name: 'glmedsa-starter' }), 'glmedsa-starter');
  assert.equal(modelLabel({ id: 'starter', name: '' }), 'starter');
});
