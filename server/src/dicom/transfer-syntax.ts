/** Transfer syntaxes the image path names, asks for, or recognises. */

/** Explicit VR Little Endian: what we ask the PACS to transcode frames to. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Implicit VR Little Endian: frame bytes are laid out exactly as in explicit little endian. */
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** Explicit VR Big Endian (retired): words are byte-swapped. */
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

const NAMES: Readonly<Record<string, string>> = {
  [IMPLICIT_VR_LITTLE_ENDIAN]: 'Implicit VR Little Endian',
  [EXPLICIT_VR_LITTLE_ENDIAN]: 'Explicit VR Little Endian',
  [EXPLICIT_VR_BIG_ENDIAN]: 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless (first-order prediction)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 (lossless)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.100': 'MPEG-2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.201': 'HTJ2K (lossless)',
  '1.2.840.10008.1.2.4.202': 'HTJ2K (lossless, RPCL)',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

/** A readable name for a transfer syntax UID (the UID itself when unknown). */
export function transferSyntaxName(uid: string): string {
  const name = NAMES[uid];
  return name === undefined ? `transfer syntax ${uid}` : `${name} (${uid})`;
}

/** Byte order of native (uncompressed) frame bytes, or undefined for encapsulated syntaxes. */
export function nativeByteOrder(uid: string): 'little' | 'big' | undefined {
  if (uid === EXPLICIT_VR_LITTLE_ENDIAN || uid === IMPLICIT_VR_LITTLE_ENDIAN) return 'little';
  if (uid === EXPLICIT_VR_BIG_ENDIAN) return 'big';
  return undefined;
}

/**
 * True for compressed syntaxes whose decoder in DCMTK (Orthanc's built-in transcoder) converts
 * YCbCr colour to RGB: frames the PACS decompressed from these arrive as RGB even when the
 * metadata still says YBR_FULL or YBR_FULL_422 (observed with Orthanc 1.10).
 */
export function decoderConvertsYbrToRgb(uid: string): boolean {
  return ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'].includes(uid);
}
