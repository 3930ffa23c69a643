/**
 * The demo studies' lesion masks, regenerated from the same phantom generators and seeds as
 * server/src/demo/demo-studies.ts; each mask is checked against the demo's recorded lesion centre,
 * so a change to the demo's seeds fails loudly here instead of comparing against the wrong mask.
 * The CT series is one phantom volume: a slice's truth is the lesion whose section there is the
 * largest (the one the demo's lesion point lies in).
 */
import { Rng, dermoscopyPhantom, overlap, regionCentre, siteProfile, sliceMask, type CtVolume } from '@glmedsa/models';
import { type DemoInstance, type DemoSeries, demoCtVolume, largestLesion } from '@glmedsa/server/dist/src/demo/demo-studies.js';

export type DemoKind = 'dermoscopy' | 'ct';

let volume: CtVolume | undefined;

/** The demo CT volume (HU and labels), made once per process. */
export function demoVolume(): CtVolume {
  volume ??= demoCtVolume();
  return volume;
}

/** The 0/1 lesion mask (row-major, width x height) of instance `index` of a demo series. */
export function demoGroundTruth(kind: DemoKind, index: number, instance: DemoInstance): Uint8Array {
  if (!instance.lesion) throw new Error(`demo ${kind} image ${index} shows no lesion`);
  let mask: Uint8Array;
  if (kind === 'dermoscopy') {
    mask = dermoscopyPhantom(new Rng(7000 + index), instance.width, siteProfile('A')).mask;
  } else {
    const v = demoVolume();
    const lesion = largestLesion(v, index);
    if (!lesion || v.columns !== instance.width) throw new Error(`the regenerated demo CT volume has no lesion on slice ${index} (demo-studies.ts changed?)`);
    mask = sliceMask(v, index, [lesion.id]);
  }
  const c = regionCentre(mask, instance.width, instance.height);
  if (!c || c.x !== instance.lesion.x || c.y !== instance.lesion.y) {
    throw new Error(`the regenerated ${kind} mask ${index} does not match the demo's lesion (demo-studies.ts seeds changed?)`);
  }
  return mask;
}

/** Which demo series is which (by description, as buildDemoStudies names them). */
export function demoSeries(series: DemoSeries[], kind: DemoKind): DemoSeries {
  const s = series.find((x) => (kind === 'dermoscopy' ? /dermoscopy/i : /^CT/i).test(x.description));
  if (!s) throw new Error(`no ${kind} series among the demo series: ${series.map((x) => x.description).join(', ')}`);
  return s;
}

/** Dice of two 0/1 masks of the same size. */
export function dice(a: Uint8Array, b: Uint8Array): number {
  return overlap(a, b).dice;
}
