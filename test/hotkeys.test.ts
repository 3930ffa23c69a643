/**
 * The mode's keys against OHIF 3.13.2's own default hotkeys, read from the viewer dist the server
 * serves (its hotkeyBindings module): none of ours takes a key OHIF binds, except N, which
 * replaces OHIF's marker-labelmap "next slice" binding on purpose (same meaning) and falls back to it.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_OHIF_DIR } from '@glmedsa/server/dist/src/viewer/ohif-package.js';
import { EXT_DIR } from './helpers/paths.js';

type Binding = { commandName?: string; keys?: string[] };

/** OHIF's default bindings: [commandName, keys] pairs of the dist's hotkeyBindings module. */
async function ohifDefaults(): Promise<{ commandName: string; keys: string[] }[]> {
  for (const f of await readdir(DEFAULT_OHIF_DIR)) {
    if (!f.endsWith('.js')) continue;
    const src = await readFile(path.join(DEFAULT_OHIF_DIR, f), 'utf8');
    const at = src.indexOf('core/src/defaults/hotkeyBindings');
    if (at < 0) continue;
    const end = src.indexOf('CONCATENATED MODULE', at + 40);
    const block = src.slice(at, end < 0 ? undefined : end);
    const out: { commandName: string; keys: string[] }[] = [];
    for (const m of block.matchAll(/commandName:\s*'([^']+)'[\s\S]*?keys:\s*\[((?:\s*'[^']*'\s*,?)*)\]/g)) {
      out.push({ commandName: m[1]!, keys: [...m[2]!.matchAll(/'([^']*)'/g)].map((k) => k[1]!) });
    }
    if (out.length) return out;
  }
  throw new Error(`no hotkeyBindings module in the OHIF dist at ${DEFAULT_OHIF_DIR} (run npm run setup:viewer)`);
}

test("the mode's hotkeys take no key of OHIF 3.13.2's defaults, except N which replaces the marker-labelmap binding", async () => {
  const defaults = await ohifDefaults();
  const byKey = new Map(defaults.flatMap((d) => d.keys.map((k) => [k.toLowerCase(), d.commandName] as const)));
  // Sanity: the defaults were read (the ones a segmentation user relies on are there).
  for (const k of ['ctrl+z', 'ctrl+y', '[', ']', 'b', 'e', 'enter', 'esc', 'c', 'n']) assert.ok(byKey.has(k), `OHIF's default ${k} was found`);
  const mode = (await import(path.join(EXT_DIR, 'glmedsa-mode.mjs'))) as { hotkeys: Binding[]; REPLACED_COMMANDS: string[]; withOurHotkeys(l: Binding[]): Binding[] };
  for (const h of mode.hotkeys) {
    for (const k of h.keys ?? []) {
      const theirs = byKey.get(k.toLowerCase());
      assert.ok(theirs === undefined || mode.REPLACED_COMMANDS.includes(theirs), `${h.commandName} on ${k} clashes with OHIF's ${theirs}`);
    }
  }
  const merged = mode.withOurHotkeys(defaults);
  const seen = new Map<string, string>();
  for (const b of merged) {
    for (const k of b.keys ?? []) {
      assert.ok(!seen.has(k), `${k} is bound twice (${seen.get(k)} and ${b.commandName})`);
      seen.set(k, b.commandName ?? '');
    }
  }
  for (const d of defaults) if (!mode.REPLACED_COMMANDS.includes(d.commandName)) assert.ok(merged.some((b) => b.commandName === d.commandName), `OHIF's ${d.commandName} is kept`);
});
