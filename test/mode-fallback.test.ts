/**
 * The mode in a viewer it does not fit: OHIF builds every mode before it shows anything, so a mode
 * factory that throws leaves a black page on every route (what OHIF 3.12.10 showed before the mode
 * learnt its modes). The built mode module (dist/ext, what the viewer imports) must then answer a
 * stand-in that the study list shows disabled, with the reason as its description. The versions it
 * does fit are proven in a browser by test/e2e/ohif-*.test.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { EXT_DIR } from './helpers/paths.js';

type ModeModule = { default: { id: string; modeFactory(o: { modeConfiguration?: unknown; loadModules: (names: string[]) => Promise<unknown[]> }): Promise<any> } };

async function built(): Promise<ModeModule['default']> {
  return ((await import(path.join(EXT_DIR, 'glmedsa-mode.mjs'))) as ModeModule).default;
}

/** Runs the factory with console.error silenced, returning what it logged. */
async function factoryWith(loadModules: (names: string[]) => Promise<unknown[]>): Promise<{ mode: any; logged: string[] }> {
  const mode = await built();
  const logged: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => void logged.push(a.map(String).join(' '));
  try {
    return { mode: await mode.modeFactory({ modeConfiguration: {}, loadModules }), logged };
  } finally {
    console.error = error;
  }
}

test('a viewer without a segmentation mode gets a disabled stand-in that says why, not an exception', async () => {
  const { id } = await built();
  const { mode, logged } = await factoryWith(async (names) => names.map(() => ({})));
  assert.equal(mode.id, id);
  assert.deepEqual(mode.routes, [], 'no route to open');
  const valid = mode.isValidMode({ modalities: 'CT', study: {} });
  assert.equal(valid.valid, false);
  assert.equal(valid.description, 'GLMed-SA cannot run in this version of the OHIF viewer (the viewer has no segmentation mode (@ohif/mode-segmentation)); the rest of the viewer works as before.');
  assert.match(mode.displayName, /unavailable/);
  assert.ok(logged.some((l) => l.includes(valid.description)), 'the console says so too');
});

test('a segmentation mode of an unknown shape, or modules that fail to load: the same stand-in', async () => {
  const odd = await factoryWith(async () => [{ modeInstance: { routes: [{ path: 'x' }] } }, {}]);
  assert.match(odd.mode.isValidMode({ modalities: 'CT' }).description, /\(the segmentation mode has no route layout\)/);
  const failing = await factoryWith(async () => {
    throw new Error('chunk 2018 failed to load.');
  });
  assert.match(failing.mode.isValidMode({ modalities: 'CT' }).description, /\(chunk 2018 failed to load\); the rest of the viewer works as before\.$/);
});
