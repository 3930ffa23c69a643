/** Where a server's fine-tuning jobs get their data, from its configuration. */
import path from 'node:path';
import type { ServerConfig } from '../config/schema.js';
import type { DicomWebClient } from '../dicom/dicomweb-client.js';
import { pacsClient } from '../dicom/pacs-client.js';
import { type DatasetProvider, DatasetSources, FolderDatasetProvider } from './dataset-provider.js';
import { PacsDatasetProvider } from './pacs-dataset-provider.js';

/**
 * Prepared folders under jobs.datasetRoot (default `storage`/datasets: the data folder, or in a
 * cluster the shared storage, so every trainer finds them), and the PACS's SEGs.
 */
export function jobDatasets(config: ServerConfig, storage: string): DatasetProvider {
  return new DatasetSources({
    folder: new FolderDatasetProvider(path.resolve(config.jobs.datasetRoot ?? path.join(storage, 'datasets'))),
    pacs: new PacsDatasetProvider(pacsDatasetClient(config.pacs)),
  });
}

/** The DICOMweb client fine-tuning jobs read SEGs and images with (whole instances, so the frame size limit is raised). */
function pacsDatasetClient(c: ServerConfig['pacs']): DicomWebClient {
  return pacsClient(c, Math.max(c.maxFrameBytes, 512 * 1024 * 1024));
}
