/** The bundled Orthanc is restarted when it dies, reported with its exit and log, and given up on when it keeps dying. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { superviseOrthanc, uploadDicom, type SupervisorEvent } from '../../src/bundled-pacs/index.js';
import { rgbPhoto } from '../helpers/dicom-factory.js';

function waitFor(events: SupervisorEvent[], type: SupervisorEvent['type'], count: number, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (events.filter((e) => e.type === type).length >= count) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`no '${type}' event #${count}; got ${events.map((e) => e.type).join(', ')}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

const answers = (url: string) =>
  fetch(`${url}/system`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );

test('a killed Orthanc is reported and restarted on the same URL with its data', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'glmedsa-supervised-'));
  const events: SupervisorEvent[] = [];
  const orthanc = await superviseOrthanc({ dataDir, httpPort: 0, stopGraceMs: 2000, restart: { initialDelayMs: 100 }, onEvent: (e) => events.push(e) });
  try {
    const photo = rgbPhoto({ width: 16, height: 16, rgb: new Uint8Array(16 * 16 * 3).fill(50) });
    const stored = await uploadDicom(orthanc, photo.bytes);
    const firstPid = orthanc.orthancPid();
    assert.ok(firstPid);
    process.kill(firstPid, 'SIGKILL');
    await waitFor(events, 'restarted', 1);
    const exited = events.find((e) => e.type === 'exited');
    assert.ok(exited && exited.type === 'exited');
    assert.match(exited.message, /^Orthanc stopped unexpectedly \(exit code 137 \(killed by SIGKILL\)\); restarting it in 0\.1 s/);
    assert.ok(exited.logTail.length > 0, 'the last log lines are reported');
    assert.ok(exited.logTail.every((l) => exited.message.includes(l)));
    assert.equal(orthanc.restarts(), 1);
    assert.notEqual(orthanc.orthancPid(), firstPid);
    assert.equal(await answers(orthanc.url), true);
    const instance = await fetch(`${orthanc.url}/instances/${stored.ID}`);
    assert.equal(instance.status, 200, 'the stored instance survived the restart');
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(dataDir, { recursive: true, force: true });
  }
  assert.equal(orthanc.exited(), true);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(events.filter((e) => e.type === 'exited').length, 1, 'a requested stop is not an unexpected exit');
});

test('an Orthanc that keeps dying is given up on with a sentence', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'glmedsa-supervised-'));
  const events: SupervisorEvent[] = [];
  const orthanc = await superviseOrthanc({ dataDir, httpPort: 0, stopGraceMs: 2000, restart: { maxRestarts: 1, initialDelayMs: 100 }, onEvent: (e) => events.push(e) });
  try {
    process.kill(orthanc.orthancPid()!, 'SIGKILL');
    await waitFor(events, 'restarted', 1);
    process.kill(orthanc.orthancPid()!, 'SIGKILL');
    const reason = await Promise.race([orthanc.gaveUp, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    assert.ok(reason, 'the supervisor gave up');
    assert.match(reason.message, /^Orthanc keeps stopping \(2 times within 600 s, last with exit code 137 \(killed by SIGKILL\)\); not restarting it again/);
    assert.deepEqual(
      events.map((e) => e.type),
      ['exited', 'restarted', 'gave-up'],
    );
    assert.equal(await answers(orthanc.url), false);
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(dataDir, { recursive: true, force: true });
  }
});
