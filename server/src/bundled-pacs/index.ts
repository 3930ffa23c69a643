/**
 * The bundled PACS: one Orthanc on this machine's loopback for `npm start`, the tests and the
 * benchmarks (bundled-orthanc.ts starts, stops and feeds it), kept running by supervisor.ts;
 * orthanc-config.ts finds the binaries and writes the configuration.
 */
export {
  type BundledOrthanc,
  type BundledOrthancOptions,
  OrthancStartError,
  type OrthancTarget,
  OrthancUploadError,
  type OrthancUploadResult,
  startBundledOrthanc,
  uploadDicom,
} from './bundled-orthanc.js';
export { findFreePort, isPortFree } from './free-port.js';
export { OrthancNotInstalled, findDicomWebPlugin, findOrthancBinary } from './orthanc-config.js';
export { type SupervisorEvent, superviseOrthanc } from './supervisor.js';
