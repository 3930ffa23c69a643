/**
 * Site profiles: how one hospital's devices and patients make its images look. The same lesion
 * drawn with two profiles differs only in acquisition (colour balance, contrast, optics, noise,
 * hair, vignetting, how strongly the lesion stands out), which is the domain shift that per-site
 * adapter fine-tuning is meant to absorb.
 *
 * Distances (blur sigma) are in pixels of a 256 px image and scale with the image size.
 */

export interface CtSiteProfile {
  /** Standard deviation of the (slightly correlated) image noise, HU. */
  readonly noiseHu: number;
  /** Calibration offset added to every tissue, HU. */
  readonly huOffset: number;
  /** Reconstruction kernel as a Gaussian blur sigma (pixels at 256 px); larger is smoother. */
  readonly blurSigma: number;
  /** |lesion - organ| attenuation difference, HU (each lesion draws 0.8..1.2 times this). */
  readonly lesionContrastHu: number;
}

export interface SiteProfile {
  readonly name: string;
  readonly description: string;
  /** Per-channel gains (R, G, B) of the white balance. */
  readonly colourGains: readonly [number, number, number];
  /** Contrast around mid-grey (1 = unchanged, < 1 flatter). */
  readonly contrast: number;
  /** Gamma applied to 0..1 values (> 1 darker mid-tones). */
  readonly gamma: number;
  /** Optical blur sigma, pixels at 256 px. */
  readonly blurSigma: number;
  /** Sensor noise standard deviation, 8-bit levels. */
  readonly noiseSigma: number;
  /** Mean number of hair strands in an image. */
  readonly hairDensity: number;
  /** Darkening outside the dermatoscope's circular field, 0 (none) .. 1 (black corners). */
  readonly vignetting: number;
  /** Brightness change across the image from uneven lighting (fraction, 0 = even). */
  readonly unevenLight: number;
  /** Opacity of the lesion's pigment over the skin, 0..1 (lower = lesion closer to the skin colour). */
  readonly lesionContrast: number;
  /** Range of skin tones of the site's patients, 0 (very light) .. 1 (dark). */
  readonly skinTone: readonly [number, number];
  readonly ct: CtSiteProfile;
}

export const SITES: Readonly<Record<string, SiteProfile>> = Object.freeze({
  A: {
    name: 'A',
    description: 'clean, well-lit dermatoscope and a low-noise CT scanner: neutral colour, sharp, little hair',
    colourGains: [1.0, 1.0, 1.0],
    contrast: 1.0,
    gamma: 1.0,
    blurSigma: 0.35,
    noiseSigma: 1.5,
    hairDensity: 1.5,
    vignetting: 0.3,
    unevenLight: 0.04,
    lesionContrast: 1.0,
    skinTone: [0.0, 0.55],
    ct: { noiseHu: 7, huOffset: 0, blurSigma: 0.5, lesionContrastHu: 40 },
  },
  B: {
    name: 'B',
    description: 'another clinic: cooler and flatter colour, softer optics, more sensor noise, dense hair, strong vignetting, fainter lesions; a noisier, smoother CT kernel with a calibration offset',
    colourGains: [0.86, 0.98, 1.14],
    contrast: 0.72,
    gamma: 1.15,
    blurSigma: 1.3,
    noiseSigma: 6,
    hairDensity: 16,
    vignetting: 0.9,
    unevenLight: 0.18,
    lesionContrast: 0.6,
    skinTone: [0.0, 0.55],
    ct: { noiseHu: 14, huOffset: 15, blurSigma: 1.2, lesionContrastHu: 25 },
  },
  C: {
    name: 'C',
    description: 'a third site: warm, bright, high-contrast images of darker skin, moderate hair and noise',
    colourGains: [1.1, 0.96, 0.84],
    contrast: 1.15,
    gamma: 0.85,
    blurSigma: 0.7,
    noiseSigma: 3.5,
    hairDensity: 6,
    vignetting: 0.6,
    unevenLight: 0.1,
    lesionContrast: 0.8,
    skinTone: [0.45, 1.0],
    ct: { noiseHu: 12, huOffset: -10, blurSigma: 0.8, lesionContrastHu: 30 },
  },
} satisfies Record<string, SiteProfile>);

/** The named site profile; throws an error listing the known names for any other name. */
export function siteProfile(name: string): SiteProfile {
  if (!Object.prototype.hasOwnProperty.call(SITES, name)) {
    throw new Error(`unknown site '${name}' (known sites: ${Object.keys(SITES).join(', ')})`);
  }
  return SITES[name]!;
}
