/** Training data from the PACS: SEG series found over QIDO, decoded into masks, split by patient, written as dataset folders. */
export { DatasetFilterSchema, InvalidDatasetFilter, parseDatasetFilter, type DatasetFilter } from './filter.js';
export { readSegObject, SegDecodeError, SEG_SOP_CLASSES, type SegObject, type SegSegment } from './seg-object.js';
export { patientKey, splitByPatient, type SplitOptions } from './split.js';
export { buildPacsDataset, findSegSeries, type PacsDataset, type PacsSample, type Skipped } from './pacs-dataset.js';
export { DATASET_SUMMARY, writePacsDatasetFolder, type DatasetSummary } from './dataset-folder.js';
export { decodeRleFrame } from './rle.js';
