/** The image path: DICOMweb access to the PACS, DICOM pixel decoding, rendering for SAM. */
export * from './errors.js';
export * from './image-ref.js';
export * from './image-key.js';
export { type DicomJsonDataset, TAGS, parseInstanceMetadata } from './dicom-json.js';
export {
  DicomWebClient,
  type DicomWebClientOptions,
  type FrameData,
  type RequestOptions,
} from './dicomweb-client.js';
export { type FetchLike } from './pacs-http.js';
export { readPixelModule, type PixelModule, type VoiFunction } from './pixel-module.js';
export {
  decodeFrame,
  decodePixels,
  renderForSam,
  type ColourPixels,
  type DecodedPixels,
  type DecodeOptions,
  type GreyPixels,
  type RawFrame,
} from './pixels.js';
export { voiValue, windowToBytes, minMaxToBytes } from './voi.js';
export { fetchFrame, loadFrame, type FetchedFrame } from './image-source.js';
export { EXPLICIT_VR_LITTLE_ENDIAN, transferSyntaxName } from './transfer-syntax.js';
