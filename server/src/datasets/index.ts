/** Training data from the PACS: SEG series found over QIDO, decoded into masks, split by patient, written as dataset folders. */
export { DatasetFilterSchema, InvalidDatasetFilter, parseDatasetFilter, type DatasetFilter } from './filter.js';
export { readSegObject, SegDecodeError, SEG_SOP_CLASSES, type SegObject, type SegFrame, type SegSegment, type SegmentationKind, type SourceFrame } from './seg-object.js';
export { patientKey, splitByPatient, type Split, type SplitOptions } from './split.js';
export { buildPacsDataset, findSegSeries, SKIP_REASONS, type BuildDatasetOptions, type PacsDataset, type PacsSample, type SkipReason, type Skipped } from './pacs-dataset.js';
export { DATASET_SUMMARY, writePacsDatasetFolder, type DatasetSummary, type SummaryItem, type WriteDatasetOptions } from './dataset-folder.js';
export { decodeRleFrame } from './rle.js';
