/**
 * glmedsa-server propagate --dicom: the propagation on a folder of DICOM files, as a researcher
 * runs it (a child process): files in any layout and order, ordered as a volume by position, the
 * same loop as the server's, masks and a report written; folders that are not one volume refused
 * with a sentence.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { lesionStack, writeMaskPng } from '@glmedsa/models';
import { basicTextSr, ctSlice, newStudy, newUid } from '../helpers/dicom-factory.js';
import { REPO_ROOT, STARTER_MODEL } from '../helpers/server.js';

const BIN = path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-dicom-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'propagate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('a folder of CT files in no particular order is propagated through as a volume', async () => {
  const stack = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
  const study = newStudy('folder');
  const series = newUid();
  const folder = path.join(dir, 'ct');
  const sops: string[] = [];
  for (let z = 0; z < 24; z++) {
    const f = ctSlice({ rows: 128, cols: 128, hu: stack.hu[z]!, window: { center: 40, width: 400 }, study, seriesInstanceUID: series, instanceNumber: 24 - z, geometry: { position: [0, 0, 3 * z] } });
    sops.push(f.ref.sopInstanceUID);
    // files named and nested with no relation to their order
    const sub = path.join(folder, z % 2 ? 'a' : 'b');
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `IM${String((z * 7) % 24).padStart(4, '0')}`), f.bytes);
  }
  writeFileSync(path.join(folder, 'README.txt'), 'not DICOM');
  writeFileSync(path.join(folder, 'report.dcm'), basicTextSr({ study, seriesInstanceUID: series }).bytes);
  const z = stack.lesion.largest;
  const seedMask = path.join(dir, 'seed.png');
  await writeMaskPng(seedMask, stack.masks[z]!, 128, 128);
  const out = path.join(dir, 'out');
  const r = await cli(['--model', STARTER_MODEL, '--dicom', folder, '--seed-slice', sops[z]!, '--seed-mask', seedMask, '--device', 'cpu', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { seed: { index: number }; found: { first: number; last: number }; series: { slices: number; spacing: number }; slices: { index: number; name: string; area: number }[]; sliceUids: Record<string, { sopInstanceUID: string }> };
  assert.equal(report.seed.index, z, 'index z is the slice at z * 3 mm');
  assert.equal(report.series.slices, 24);
  assert.equal(report.series.spacing, 3);
  for (const s of report.slices) assert.equal(report.sliceUids[String(s.index)]!.sopInstanceUID, sops[s.index]);
  assert.ok(Math.abs(report.found.first - stack.lesion.first) <= 2 && Math.abs(report.found.last - stack.lesion.last) <= 2, `${JSON.stringify(report.found)} vs ${JSON.stringify(stack.lesion)}`);
  const written = readdirSync(out).filter((f) => f.endsWith('.png'));
  assert.equal(written.length, report.slices.length);
  assert.ok(written.every((f) => /^\d{4}-[0-9.]+\.png$/.test(f)), written.join(','));
  const again = JSON.parse(readFileSync(path.join(out, 'propagation.json'), 'utf8')) as { slices: unknown[] };
  assert.equal(again.slices.length, report.slices.length);
  assert.ok(report.slices.every((s) => s.area > 0));
});

test('folders that are not one volume are refused with a sentence', async () => {
  const study = newStudy('folder');
  const two = path.join(dir, 'two');
  mkdirSync(two);
  for (const s of [newUid(), newUid()]) {
    for (let z = 0; z < 3; z++) writeFileSync(path.join(two, `${s.slice(-6)}-${z}`), ctSlice({ rows: 16, cols: 16, hu: new Int16Array(256), study, seriesInstanceUID: s, geometry: { position: [0, 0, z] } }).bytes);
  }
  const several = await cli(['--model', STARTER_MODEL, '--dicom', two, '--seed-slice', '0', '--seed-point', '4,4']);
  assert.equal(several.code, 1);
  assert.match(several.stderr, /holds several series of images: choose one with --series \(/);
  const tilted = path.join(dir, 'tilted');
  mkdirSync(tilted);
  const series = newUid();
  for (let z = 0; z < 4; z++) {
    const orientation = z < 2 ? ([1, 0, 0, 0, 1, 0] as const) : ([1, 0, 0, 0, 0.9, 0.436] as const);
    writeFileSync(path.join(tilted, String(z)), ctSlice({ rows: 16, cols: 16, hu: new Int16Array(256), study, seriesInstanceUID: series, instanceNumber: z + 1, geometry: { position: [0, 0, z], orientation } }).bytes);
  }
  const r = await cli(['--model', STARTER_MODEL, '--dicom', tilted, '--seed-slice', '0', '--seed-point', '4,4']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /The series mixes slice orientations: 2 of its 4 images/);
  const usage = await cli(['--model', STARTER_MODEL, '--dicom', tilted, '--direction', 'up', '--seed-slice', '0', '--seed-point', '4,4']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--direction must be one of both, forward, backward/);
});
