/** The DICOM builders live in src (the demo studies use them too); tests import them from here. */
export * from '../../src/dicom/factory.js';
