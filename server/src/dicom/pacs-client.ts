/** A DICOMweb client for the configured PACS: its URL, time limit and credentials (basic or bearer). */
import { DicomWebClient } from './dicomweb-client.js';

interface PacsSettings {
  url: string;
  timeoutMs: number;
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** `maxResponseBytes`: the largest answer read (a frame for clicks; whole instances for training data). */
export function pacsClient(c: PacsSettings, maxResponseBytes: number): DicomWebClient {
  return new DicomWebClient({
    baseUrl: c.url,
    timeoutMs: c.timeoutMs,
    maxResponseBytes,
    auth: c.token ? { bearerToken: c.token } : c.username ? { username: c.username, password: c.password ?? '' } : undefined,
  });
}
