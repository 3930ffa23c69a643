/**
 * DICOM objects that are not images, for the cases where the model must refuse politely.
 *
 *   const report = textReport();
 *   await uploadDicom(stack.orthanc, report.bytes); // then ask for report.ref's embedding
 */
import { SOP_CLASSES, baseDataset, finish } from '@glmedsa/server/dist/src/dicom/factory.js';

/** A Basic Text SR: a valid DICOM instance with no pixels. */
export function textReport(): { bytes: Uint8Array; ref: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string } } {
  const { dataset, ref } = baseDataset(SOP_CLASSES.basicTextSr, 'SR', { seriesDescription: 'bad-input report' });
  Object.assign(dataset, {
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: '20240101',
    ContentTime: '120000',
    ConceptNameCodeSequence: [{ CodeValue: '11528-7', CodingSchemeDesignator: 'LN', CodeMeaning: 'Radiology Report' }],
    ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'TEXT', ConceptNameCodeSequence: [{ CodeValue: '121071', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Finding' }], TextValue: 'No focal lesion.' }],
  });
  return finish(dataset, ref);
}
