/**
 * The mode's keys against the own default hotkeys of every OHIF version we support (3.12.10, 3.13.2,
 * 3.14.0-beta.6), read from each viewer dist (its hotkeyBindings module): none of ours takes a key
 * OHIF binds, except N, which replaces OHIF's marker-labelmap "next slice" binding on purpose (same
 * meaning) and falls back to it.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { OHIF_RELEASES, type OhifVersion, ensureOhifDist } from '@glmedsa/server/dist/src/viewer/index.js';
import { EXT_DIR } from './helpers/paths.js';

type Binding = { commandName?: string; keys?: string[] };

/** OHIF's default bindings: [commandName, keys] pairs of the dist's hotkeyBindings module. */
async function ohifDefaults(version: OhifVersion): Promise<{ commandName: string; keys: string[] }[]> {
  const { dir } = await ensureOhifDist({ version, log: (l) => process.stderr.write(`${l}\n`) });
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.js')) continue;
    const src = await readFile(path.join(dir, f), 'utf8');
    const at = src.indexOf('core/src/defaults/hotkeyBindings');
    if (at < 0) continue;
    // The module ends where the bundler's next module marker begins (rspack: "CONCATENATED MODULE", webpack: ";// <path>").
    const ends = [src.indexOf('CONCATENATED MODULE', at + 40), src.indexOf('\n;// ', at + 40)].filter((e) => e >= 0);
    const block = src.slice(at, ends.length ? Math.min(...ends) : undefined);
    const out: { commandName: string; keys: string[] }[] = [];
    for (const m of block.matchAll(/commandName:\s*'([^']+)'[\s\S]*?keys:\s*\[((?:\s*'[^']*'\s*,?)*)\]/g)) {
      out.push({ commandName: m[1]!, keys: [...m[2]!.matchAll(/'([^']*)'/g)].map((k) => k[1]!) });
    }
    if (out.length) return out;
  }
  throw new Error(`no hotkeyBindings module in the OHIF ${version} dist at ${dir}`);
}

for (const version of Object.keys(OHIF_RELEASES) as OhifVersion[]) test(`the mode's hotkeys take no key of OHIF ${version}'s defaults, except N which replaces the marker-labelmap binding`, async () => {
  const defaults = await ohifDefaults(version);
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
  // Keys OHIF itself binds twice (3.12 binds esc to cancelMeasurement and rejectPreview) stay so; no other key may be.
  const twiceInOhif = new Set(defaults.flatMap((d) => d.keys).filter((k, i, all) => all.indexOf(k) !== i));
  const merged = mode.withOurHotkeys(defaults);
  const seen = new Map<string, string>();
  for (const b of merged) {
    for (const k of b.keys ?? []) {
      assert.ok(!seen.has(k) || twiceInOhif.has(k), `${k} is bound twice (${seen.get(k)} and ${b.commandName})`);
      seen.set(k, b.commandName ?? '');
    }
  }
  for (const d of defaults) if (!mode.REPLACED_COMMANDS.includes(d.commandName)) assert.ok(merged.some((b) => b.commandName === d.commandName), `OHIF's ${d.commandName} is kept`);
});
