/**
 * Which OHIF the server serves, and where the set-up may write: an operator's configured folder
 * (GLMEDSA_OHIF_DIR, viewer.ohifDir) is served as it is and never written to, whatever it holds;
 * only our own data folder receives the pinned versions, each checked against its sha512.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { OHIF_RELEASES, OHIF_VERSION, isOhifDistReady, isOhifVersion, ohifDirFor, viewerDist } from '../../src/viewer/index.js';

/** Every file under `dir` with its content and modification time. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readdir(dir, { recursive: true })) {
    const p = path.join(dir, f);
    const s = await stat(p);
    out[f] = s.isFile() ? `${await readFile(p, 'utf8')}@${s.mtimeMs}` : 'dir';
  }
  return out;
}

test("an operator's OHIF folder is served as it is: nothing written, another version's dist not replaced", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'site-ohif-'));
  try {
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>the site OHIF 3.12</title>');
    await writeFile(path.join(dir, 'app-config.js'), 'window.config = { site: true };');
    const before = await snapshot(dir);
    const d = await viewerDist(dir);
    assert.deepEqual(d, { dir, fetched: false, problem: null });
    assert.deepEqual(await snapshot(dir), before, 'the folder is unchanged');
    assert.equal(await isOhifDistReady(dir), false, 'and it was not stamped as ours');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a configured folder without a viewer is a sentence, and stays empty', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'site-ohif-'));
  try {
    const d = await viewerDist(dir);
    assert.match(d.problem ?? '', /has no index\.html: point GLMEDSA_OHIF_DIR/);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no folder configured: the pinned default, in our own data folder', async () => {
  const d = await viewerDist(undefined);
  assert.equal(d.dir, ohifDirFor(OHIF_VERSION));
  assert.equal(d.problem, null);
  assert.ok(await isOhifDistReady(d.dir, OHIF_RELEASES[OHIF_VERSION]), 'the default dist carries its integrity marker');
});

test('the pinned versions: each a sha512 integrity, the default among them', () => {
  assert.ok(isOhifVersion(OHIF_VERSION));
  assert.ok(!isOhifVersion('3.11.1') && !isOhifVersion('toString'));
  for (const [v, integrity] of Object.entries(OHIF_RELEASES)) {
    assert.match(v, /^3\.\d+\.\d+(-[\w.]+)?$/);
    assert.match(integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, v);
  }
});
