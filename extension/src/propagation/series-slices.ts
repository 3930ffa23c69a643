/**
 * A series as the viewer holds it, in the order the server and Cornerstone's volumes use: its
 * images sorted by position along the slice normal (the cross product of the row and column
 * directions of Image Orientation Patient), lowest first, never by instance number. Each slice knows
 * its image id, its DICOM reference and its place in the viewer's own list (the stack may run the
 * other way); the pixel spacing and the slice step (the median gap, which a missing slice does not
 * inflate) give the measures their millimetres.
 */

interface SliceInput {
  imageId: string;
  sopInstanceUID: string;
  frame: number;
  /** Image Position Patient, mm (absent where the metadata has none). */
  position?: readonly number[] | undefined;
  /** Image Orientation Patient: row direction, then column direction. */
  orientation?: readonly number[] | undefined;
  /** Pixel Spacing: [between rows, between columns], mm. */
  pixelSpacing?: readonly number[] | undefined;
}

interface SeriesSlice {
  imageId: string;
  sopInstanceUID: string;
  frame: number;
  /** Place in the series' position order: the server's `index`, Cornerstone's volume k. */
  index: number;
  /** Place in the viewer's own image list. */
  viewIndex: number;
  /** Position along the slice normal, mm (the order's key; the image's list place where positions are missing). */
  position: number;
}

interface SeriesSlices {
  slices: SeriesSlice[];
  /** Whether every image had a position and an orientation (otherwise the order is the viewer's own). */
  positioned: boolean;
  /** Between rows and between columns, mm (1 where unknown). */
  pixelSpacing: { row: number; column: number };
  /** Whether the images carry a pixel spacing. */
  pixelSpacingKnown: boolean;
  /** The slice step along the normal, mm (1 where unknown). */
  sliceSpacing: number;
}

const refKey = (sop: string, frame: number) => `${sop}#${frame}`;

/** Orders a series' images by their positions along the slice normal of the first image. */
export function orderSlices(inputs: readonly SliceInput[]): SeriesSlices {
  const first = inputs[0];
  const o = first?.orientation;
  const positioned = !!o && o.length >= 6 && inputs.every((s) => s.position?.length === 3);
  let normal: [number, number, number] = [0, 0, 1];
  if (positioned && o) {
    normal = [o[1]! * o[5]! - o[2]! * o[4]!, o[2]! * o[3]! - o[0]! * o[5]!, o[0]! * o[4]! - o[1]! * o[3]!];
  }
  const withPos = inputs.map((s, viewIndex) => ({
    s,
    viewIndex,
    position: positioned ? s.position![0]! * normal[0] + s.position![1]! * normal[1] + s.position![2]! * normal[2] : viewIndex,
  }));
  withPos.sort((a, b) => a.position - b.position || a.viewIndex - b.viewIndex);
  const slices = withPos.map((p, index) => ({ imageId: p.s.imageId, sopInstanceUID: p.s.sopInstanceUID, frame: p.s.frame, index, viewIndex: p.viewIndex, position: p.position }));
  const gaps = slices.slice(1).map((s, k) => s.position - slices[k]!.position).filter((g) => g > 1e-6).sort((a, b) => a - b);
  const sliceSpacing = positioned && gaps.length ? gaps[Math.floor((gaps.length - 1) / 2)]! : 1;
  const ps = first?.pixelSpacing;
  const pixelSpacingKnown = !!ps && ps.length >= 2 && ps[0]! > 0 && ps[1]! > 0;
  const pixelSpacing = pixelSpacingKnown ? { row: ps[0]!, column: ps[1]! } : { row: 1, column: 1 };
  return { slices, positioned, pixelSpacing, pixelSpacingKnown, sliceSpacing };
}

/** Lookups over an ordered series: by DICOM reference and by image id. */
export class SeriesIndex {
  private readonly byRef = new Map<string, SeriesSlice>();
  private readonly byImageId = new Map<string, SeriesSlice>();

  constructor(readonly series: SeriesSlices) {
    for (const s of series.slices) {
      this.byRef.set(refKey(s.sopInstanceUID, s.frame), s);
      this.byImageId.set(s.imageId, s);
    }
  }

  get length(): number {
    return this.series.slices.length;
  }

  at(index: number): SeriesSlice | undefined {
    return this.series.slices[index];
  }

  ofRef(sopInstanceUID: string, frame: number): SeriesSlice | undefined {
    return this.byRef.get(refKey(sopInstanceUID, frame));
  }

  ofImageId(imageId: string): SeriesSlice | undefined {
    return this.byImageId.get(imageId);
  }
}
