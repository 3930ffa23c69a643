/**
 * What a radiologist reports of a segmented lesion: its volume in mL (voxels x pixel spacing x
 * slice step) and its longest axial diameter in mm (the longest in-plane distance across the lesion
 * on any one slice, as RECIST measures it on the axial slice where it is longest; on each slice its
 * largest connected piece). The diameter is taken on the lesion's outline through the midpoints of its pixels' outer edges (the contour
 * marching squares draws at the 0.5 level, as pyradiomics' Maximum2DDiameterSlice does), so a lesion
 * of one pixel measures one pixel across. Pure arithmetic on pixel arrays, no viewer objects.
 */

interface PixelSpacing {
  /** Between rows (vertical), mm. */
  row: number;
  /** Between columns (horizontal), mm. */
  column: number;
}

/** Which pixel values belong to the lesion. */
type Member = (value: number) => boolean;

type Pt = [number, number];

/** The longest distance between two points of `points` (mm), by their convex hull. */
function longestChord(points: Pt[]): { length: number; a: Pt; b: Pt } | null {
  if (points.length === 0) return null;
  const pts = [...points].sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const cross = (o: Pt, a: Pt, b: Pt) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Pt[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Pt[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  if (hull.length === 0) hull.push(pts[0]!);
  let best = { length: 0, a: hull[0]!, b: hull[0]! };
  // The hull of a lesion outline has a few hundred points at most: all pairs are cheap enough.
  for (let i = 0; i < hull.length; i++) {
    for (let j = i + 1; j < hull.length; j++) {
      const d = Math.hypot(hull[i]![0] - hull[j]![0], hull[i]![1] - hull[j]![1]);
      if (d > best.length) best = { length: d, a: hull[i]!, b: hull[j]! };
    }
  }
  return best;
}

/** The largest piece (4-connected, edge to edge) of the pixels `member` accepts, as a 0/1 mask. */
function largestPiece(pixels: ArrayLike<number>, width: number, height: number, member: Member): Uint8Array {
  const label = new Int32Array(width * height);
  let best = 0;
  let bestSize = 0;
  const stack: number[] = [];
  for (let start = 0, next = 1; start < label.length; start++) {
    if (label[start] || !member(pixels[start]!)) continue;
    const id = next++;
    let size = 0;
    label[start] = id;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      size++;
      const x = i % width;
      const y = (i - x) / width;
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]] as const) {
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const j = ny * width + nx;
        if (!label[j] && member(pixels[j]!)) {
          label[j] = id;
          stack.push(j);
        }
      }
    }
    if (size > bestSize) (best = id), (bestSize = size);
  }
  return Uint8Array.from(label, (l) => (l === best && best > 0 ? 1 : 0));
}

/**
 * The longest in-plane diameter (mm) of the pixels of one slice that `member` accepts, with its
 * end points in pixel coordinates; null when the slice holds none. It is measured on the slice's
 * largest connected piece: islands a model leaves beside a lesion must not stretch its diameter.
 */
export function sliceDiameter(pixels: ArrayLike<number>, width: number, height: number, spacing: PixelSpacing, member: Member): { mm: number; from: Pt; to: Pt } | null {
  if (pixels.length !== width * height) throw new Error(`a ${width}x${height} slice has ${width * height} pixels, not ${pixels.length}`);
  const piece = largestPiece(pixels, width, height, member);
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && piece[y * width + x] === 1;
  const points: Pt[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!piece[y * width + x]) continue;
      if (!inside(x - 1, y)) points.push([x - 0.5, y]);
      if (!inside(x + 1, y)) points.push([x + 0.5, y]);
      if (!inside(x, y - 1)) points.push([x, y - 0.5]);
      if (!inside(x, y + 1)) points.push([x, y + 0.5]);
    }
  }
  const chord = longestChord(points.map(([x, y]) => [x * spacing.column, y * spacing.row]));
  if (!chord) return null;
  const back = (p: Pt): Pt => [p[0] / spacing.column, p[1] / spacing.row];
  return { mm: chord.length, from: back(chord.a), to: back(chord.b) };
}

interface LesionMeasures {
  voxels: number;
  /** mm3 / 1000. */
  volumeMl: number;
  /** The longest axial diameter, mm, and the slice (its index in the list given) it is on; null without voxels. */
  longestAxial: { mm: number; slice: number } | null;
  /** Slices holding the lesion. */
  slices: number;
}

/**
 * Volume and longest axial diameter of the pixels `member` accepts over the slices of a series
 * (`slices[k]`: slice k's pixels, or null for a slice known to be empty).
 */
export function lesionMeasures(slices: readonly (ArrayLike<number> | null)[], width: number, height: number, spacing: PixelSpacing & { slice: number }, member: Member): LesionMeasures {
  let voxels = 0;
  let holding = 0;
  let longest: { mm: number; slice: number } | null = null;
  slices.forEach((px, k) => {
    if (!px) return;
    let n = 0;
    for (let i = 0; i < px.length; i++) if (member(px[i]!)) n++;
    if (n === 0) return;
    voxels += n;
    holding++;
    const d = sliceDiameter(px, width, height, spacing, member);
    if (d && (!longest || d.mm > longest.mm)) longest = { mm: d.mm, slice: k };
  });
  return { voxels, volumeMl: (voxels * spacing.row * spacing.column * spacing.slice) / 1000, longestAxial: longest, slices: holding };
}
