/**
 * Minimal types for the parts of dcmjs (0.51) the server and its tests use: building Part 10 files
 * from naturalized datasets, and reading them back. The ES build exports `data` (and others) by
 * name and the whole library as default; only those are declared.
 */
declare module 'dcmjs' {
  namespace data {
    /** A dataset keyed by DICOM keywords ("PatientName"), as dcmjs naturalizes it. */
    interface NaturalizedDataset {
      [keyword: string]: unknown;
    }

    /** A dataset keyed by tags ("00100010") with `{ vr, Value }` entries. */
    interface DenaturalizedDataset {
      [tag: string]: { vr: string; Value?: unknown[] };
    }

    /** A Part 10 file: meta header and dataset. */
    class DicomDict {
      constructor(meta: DenaturalizedDataset);
      meta: DenaturalizedDataset;
      dict: DenaturalizedDataset;
      /** Serializes the file (preamble, "DICM", meta group, dataset). */
      write(options?: { fragmentMultiframe?: boolean; allowInvalidVRLength?: boolean }): ArrayBuffer;
    }

    const DicomMetaDictionary: {
      naturalizeDataset(dataset: DenaturalizedDataset): NaturalizedDataset;
      denaturalizeDataset(dataset: NaturalizedDataset): DenaturalizedDataset;
    };

    const DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string }): DicomDict;
    };
  }

  const dcmjs: { data: typeof data };
  export { data };
  export default dcmjs;
}
