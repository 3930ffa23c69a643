/**
 * Our SEG reader against a writer that is not ours: the SEGs in fixtures/ohif-seg/ were written by
 * OHIF 3.13.2's own export during a run of the viewer's end-to-end test (see the folder's README),
 * next to the labelmap the browser held when it saved them. Each must decode into a mask on its
 * source image equal to that labelmap pixel for pixel, and a dataset built from them in a real
 * Orthanc must hold the images and those masks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDatasetItem, readDataset } from '@glmedsa/models';
import { buildPacsDataset, readSegObject, SEG_SOP_CLASSES, writePacsDatasetFolder, type DatasetSummary } from '../../src/datasets/index.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { REPO_ROOT } from '../helpers/server.js';

const FIXTURES = path.join(REPO_ROOT, 'server', 'test', 'fixtures', 'ohif-seg');
const KINDS = ['dermoscopy', 'ct'] as const;

interface Made {
  ohif: { version: string };
  seg: { file: string; sopInstanceUID: string; seriesInstanceUID: string; sopClassUID: string; transferSyntaxUID: string; rows: number; columns: number; frames: number }[];
  sources: { file: string; sopInstanceUID: string; seriesInstanceUID: string; rows: number; columns: number }[];
  labelmap: { file: string; of: { sopInstanceUID: string; frame: number }; width: number; height: number; foregroundPixels: number };
}

interface Fixture {
  kind: (typeof KINDS)[number];
  made: Made;
  seg: Uint8Array;
  sources: Uint8Array[];
  /** The accepted labelmap as the browser had it (0/1). */
  accepted: Uint8Array;
}

function fixture(kind: (typeof KINDS)[number]): Fixture {
  const dir = path.join(FIXTURES, kind);
  const made = JSON.parse(readFileSync(path.join(dir, 'made.json'), 'utf8')) as Made;
  assert.equal(made.seg.length, 1, 'one SEG instance per fixture');
  return {
    kind,
    made,
    seg: new Uint8Array(readFileSync(path.join(dir, made.seg[0]!.file))),
    sources: made.sources.map((s) => new Uint8Array(readFileSync(path.join(dir, s.file)))),
    accepted: new Uint8Array(readFileSync(path.join(dir, made.labelmap.file))),
  };
}

const fixtures = KINDS.map(fixture);

function foreground(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] ? 1 : 0;
  return n;
}

/** Fails unless `actual` and `expected` are the same 0/1 mask, saying how many pixels differ and where. */
function assertSameMask(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: size`);
  const first: number[] = [];
  let n = 0;
  for (let i = 0; i < actual.length; i++) {
    if ((actual[i] ? 1 : 0) !== (expected[i] ? 1 : 0)) {
      n++;
      if (first.length < 5) first.push(i);
    }
  }
  assert.equal(n, 0, `${what}: ${n} pixels differ from the saved labelmap (first at ${first.join(', ')})`);
}

describe("OHIF 3.13's own SEG export, read by our SEG reader", () => {
  for (const f of fixtures) {
    it(`${f.kind}: decodes into a mask on its source image equal to the labelmap the browser saved`, () => {
      const { made } = f;
      assert.equal(made.ohif.version, '3.13.2');
      const seg = readSegObject(f.seg);
      assert.equal(seg.sopClassUID, made.seg[0]!.sopClassUID);
      assert.equal(seg.sopInstanceUID, made.seg[0]!.sopInstanceUID);
      assert.ok(Object.values(SEG_SOP_CLASSES).includes(seg.sopClassUID as never), `SOP class ${seg.sopClassUID} is one we read`);
      assert.equal(seg.kind, seg.sopClassUID === SEG_SOP_CLASSES.labelMap ? 'labelmap' : 'binary');
      assert.equal(seg.columns, made.labelmap.width);
      assert.equal(seg.rows, made.labelmap.height);
      assert.ok(seg.segments.length >= 1, 'the SEG names its segment');

      // The frames that hold the accepted mask, and the image frame they point at.
      const painted = seg.frames.map((frame, i) => ({ frame, pixels: seg.framePixels(i) })).filter((p) => foreground(p.pixels) > 0);
      assert.equal(painted.length, 1, 'one frame holds the mask');
      const { frame, pixels } = painted[0]!;
      assert.deepEqual(frame.source, { sopInstanceUID: made.labelmap.of.sopInstanceUID, frame: 1 }, 'the frame refers to the source image, frame 1');
      const source = made.sources.find((s) => s.sopInstanceUID === made.labelmap.of.sopInstanceUID);
      assert.ok(source, 'the source image is in the fixture');
      assert.equal(pixels.length, source.rows * source.columns);
      assert.deepEqual([...(seg.referencedSeries.get(source.seriesInstanceUID) ?? [])], [source.sopInstanceUID], 'ReferencedSeriesSequence names the source (once, though OHIF lists it twice)');

      assert.equal(f.accepted.length, made.labelmap.width * made.labelmap.height);
      assert.equal(foreground(f.accepted), made.labelmap.foregroundPixels);
      assertSameMask(pixels, f.accepted, `${f.kind} SEG frame`);
      const segment = frame.segmentNumber ?? [...new Set(pixels)].find((v) => v !== 0);
      assert.ok(seg.segments.some((s) => s.number === segment), `segment ${segment} is declared`);
    });
  }

  describe('a dataset built from them in a real Orthanc', () => {
    const pacs = useOrthanc();

    it('has each source image and its mask, equal to the saved labelmap', async () => {
      for (const f of fixtures) {
        for (const s of f.sources) await pacs.upload(s);
        await pacs.upload(f.seg);
      }
      const dataset = await buildPacsDataset(pacs.client(), {}, { seed: 1, validationFraction: 0.5 });
      assert.deepEqual(dataset.skipped, []);
      assert.equal(dataset.samples.length, fixtures.length);
      for (const f of fixtures) {
        const sample = dataset.samples.find((s) => s.image.sopInstanceUID === f.made.labelmap.of.sopInstanceUID);
        assert.ok(sample, `a sample for the ${f.kind} image`);
        assert.equal(sample.image.frame, 1);
        assert.equal(sample.seg.sopInstanceUID, f.made.seg[0]!.sopInstanceUID);
        assertSameMask(sample.mask, f.accepted, `${f.kind} sample`);
      }

      const parent = await mkdtemp(path.join(tmpdir(), 'glmedsa-ohif-seg-'));
      try {
        const dir = path.join(parent, 'data');
        const summary = await writePacsDatasetFolder(pacs.client(), dataset, dir);
        const onDisk = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8')) as DatasetSummary;
        assert.equal(onDisk.train.items.length + onDisk.validation.items.length, fixtures.length);
        const seen = new Set<string>();
        for (const side of [summary.train, summary.validation]) {
          const folder = await readDataset(path.join(dir, side.dir));
          for (const [k, item] of folder.items.entries()) {
            const ref = side.items[k]!.image;
            const f = fixtures.find((x) => x.made.labelmap.of.sopInstanceUID === ref.sopInstanceUID)!;
            const { image, mask } = await loadDatasetItem(folder, item);
            assert.equal(image.width, f.made.labelmap.width);
            assert.equal(image.height, f.made.labelmap.height);
            assert.ok(image.data.some((v) => v !== 0), `the ${f.kind} image is rendered`);
            assertSameMask(mask, f.accepted, `${f.kind} mask in the folder`);
            seen.add(f.kind);
          }
        }
        assert.deepEqual([...seen].sort(), [...KINDS].sort());
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });
});
