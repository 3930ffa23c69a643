/**
 * A small DICOMweb client. For the image path (WADO-RS): an instance's metadata and one frame's
 * pixel bytes, asked for uncompressed (Explicit VR Little Endian) so the PACS does the
 * decompression, else as stored when the server decodes that syntax itself. For training data:
 * QIDO-RS searches and whole instances as stored (SEGs). Checks UIDs before building any URL,
 * applies a per-request deadline and body cap, and turns every PACS answer into data or a typed
 * error.
 */
import { serverDecodes } from './codecs/index.js';
import { parseInstanceMetadata, type DicomJsonDataset } from './dicom-json.js';
import { CorruptImage, FrameOutOfRange, NotAnImage, PacsBadResponse, UnsupportedImage, type DicomError } from './errors.js';
import { assertFrameNumber, assertInstanceRef, type InstanceRef } from './image-ref.js';
import { MultipartError, parseContentType, parseMultipart } from './multipart.js';
import { errorSummary, pacsGet, statusError, type FetchLike, type PacsHttpOptions, type PacsResponse } from './pacs-http.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, nativeByteOrder, transferSyntaxName } from './transfer-syntax.js';

/** Credentials sent to the PACS with every request. */
type PacsAuth = { readonly username: string; readonly password: string } | { readonly bearerToken: string };

/** Where the PACS is and how to talk to it. */
export interface DicomWebClientOptions {
  /** DICOMweb root, e.g. `http://127.0.0.1:8042/dicom-web`. */
  readonly baseUrl: string;
  readonly auth?: PacsAuth | undefined;
  /** Deadline per request (headers + body), default 15 s. */
  readonly timeoutMs?: number | undefined;
  /** Largest answer accepted, default 512 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** Replaces the global fetch (tests). */
  readonly fetch?: FetchLike | undefined;
}

/** Per-call options. */
export interface RequestOptions {
  /** Aborts the call (its reason is rethrown as is). */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link DicomWebClient.getFrame}. */
interface FrameRequestOptions extends RequestOptions {
  /**
   * Transfer syntax to ask for: a UID, or `*` for whatever the PACS stores. Default Explicit VR
   * Little Endian, falling back to `*` (to name the stored syntax in the error) if the PACS
   * cannot transcode.
   */
  readonly transferSyntax?: string | undefined;
}

/** One frame's bytes as the PACS sent them. */
export interface FrameData {
  readonly bytes: Uint8Array;
  /** Transfer syntax of `bytes` (from the part's Content-Type, else what was asked for). */
  readonly transferSyntaxUID: string;
  /** Media type of the part, e.g. `application/octet-stream` or `image/jp2`. */
  readonly mediaType: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

function frameAccept(transferSyntax: string): string {
  return `multipart/related; type="application/octet-stream"; transfer-syntax=${transferSyntax}`;
}

function authHeaders(auth: PacsAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  if ('bearerToken' in auth) return { authorization: `Bearer ${auth.bearerToken}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` };
}

/** Orthanc's error `Message` for a JSON error body, when there is one. */
function orthancMessage(response: PacsResponse): string | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(response.body.subarray(0, 4000)));
    const message = typeof parsed === 'object' && parsed !== null ? (parsed as { Message?: unknown }).Message : undefined;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** WADO-RS client bound to one PACS. */
export class DicomWebClient {
  /** DICOMweb root without a trailing slash. */
  readonly baseUrl: string;
  private readonly http: Omit<PacsHttpOptions, 'signal'>;

  constructor(options: DicomWebClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`PACS DICOMweb URL is not a valid URL: ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`PACS DICOMweb URL must be http or https, got ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.search !== '' || url.hash !== '') throw new TypeError('PACS DICOMweb URL must not have a query or fragment');
    this.baseUrl = url.href.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_BYTES;
    if (!(timeoutMs > 0) || !(maxResponseBytes > 0)) throw new RangeError('timeoutMs and maxResponseBytes must be positive');
    this.http = {
      timeoutMs,
      maxResponseBytes,
      headers: authHeaders(options.auth),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
  }

  /** The WADO-RS URL of an instance (UIDs checked first). */
  instanceUrl(ref: InstanceRef): string {
    assertInstanceRef(ref);
    return `${this.baseUrl}/studies/${ref.studyInstanceUID}/series/${ref.seriesInstanceUID}/instances/${ref.sopInstanceUID}`;
  }

  /**
   * Checks that the PACS answers a minimal study search (QIDO-RS `studies?limit=1`) with the
   * client's credentials; resolves when it does.
   * @throws PacsUnavailable, PacsTimeout, PacsAuthRejected, PacsBadResponse
   */
  async ping(options: RequestOptions & { timeoutMs?: number } = {}): Promise<void> {
    const url = `${this.baseUrl}/studies?limit=1`;
    const timeoutMs = Math.min(options.timeoutMs ?? this.http.timeoutMs, this.http.timeoutMs);
    const response = await pacsGet(url, 'application/dicom+json, application/json;q=0.9', { ...this.http, timeoutMs, signal: options.signal });
    if (response.status !== 200 && response.status !== 204) throw statusError(response, 'study search');
  }

  /**
   * The instance's metadata (WADO-RS `.../metadata`) as one DICOM JSON dataset.
   * @throws InvalidImageReference, PacsNotFound, PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
   */
  async getInstanceMetadata(ref: InstanceRef, options: RequestOptions = {}): Promise<DicomJsonDataset> {
    const url = `${this.instanceUrl(ref)}/metadata`;
    const response = await pacsGet(url, 'application/dicom+json, application/json;q=0.9', { ...this.http, signal: options.signal });
    if (response.status !== 200) throw statusError(response, 'instance metadata');
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
    } catch (error) {
      throw new PacsBadResponse(`GET ${url}: metadata is not valid JSON`, { cause: error });
    }
    return parseInstanceMetadata(parsed);
  }

  /**
   * The metadata of every instance of a series (WADO-RS `studies/{study}/series/{series}/metadata`),
   * one DICOM JSON dataset per instance, in the PACS's order.
   * @throws InvalidImageReference, PacsNotFound, PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
   */
  async getSeriesMetadata(studyInstanceUID: string, seriesInstanceUID: string, options: RequestOptions = {}): Promise<DicomJsonDataset[]> {
    // A placeholder instance UID lets the shared check validate the two UIDs that go into the URL.
    assertInstanceRef({ studyInstanceUID, seriesInstanceUID, sopInstanceUID: '1' });
    const url = `${this.baseUrl}/studies/${studyInstanceUID}/series/${seriesInstanceUID}/metadata`;
    const response = await pacsGet(url, 'application/dicom+json, application/json;q=0.9', { ...this.http, signal: options.signal });
    if (response.status === 204) return [];
    if (response.status !== 200) throw statusError(response, 'series metadata');
    let parsed: unknown;
    try {
      parsed = response.body.length === 0 ? [] : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
    } catch (error) {
      throw new PacsBadResponse(`GET ${url}: metadata is not valid JSON`, { cause: error });
    }
    if (!Array.isArray(parsed)) throw new PacsBadResponse(`GET ${url}: series metadata is not a JSON array`);
    return parsed.map((item) => parseInstanceMetadata([item]));
  }

  /**
   * Frame `frame` (1-based) of an instance. Asks for Explicit VR Little Endian; when the PACS
   * cannot transcode, asks once more for the stored syntax, and uses those bytes when they are
   * uncompressed anyway or in a syntax the server decodes itself (JPEG 2000, JPEG-LS, HTJ2K);
   * otherwise the error names the syntax.
   * @throws InvalidImageReference, FrameOutOfRange, NotAnImage, UnsupportedImage, CorruptImage,
   *   PacsNotFound, PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
   */
  async getFrame(ref: InstanceRef, frame: number, options: FrameRequestOptions = {}): Promise<FrameData> {
    assertFrameNumber(frame);
    const url = `${this.instanceUrl(ref)}/frames/${frame}`;
    const asked = options.transferSyntax ?? EXPLICIT_VR_LITTLE_ENDIAN;
    const response = await pacsGet(url, frameAccept(asked), { ...this.http, signal: options.signal });
    if (response.status === 200) return this.parseFrameResponse(response, asked);
    const known = this.frameStatusError(response, frame);
    if (known !== undefined) throw known;
    if (options.transferSyntax !== undefined || ![406, 415, 500, 501].includes(response.status)) {
      throw statusError(response, 'frame');
    }
    // The PACS could not give us uncompressed pixels: find out what it stores.
    const native = await pacsGet(url, frameAccept('*'), { ...this.http, signal: options.signal });
    if (native.status === 200) {
      const data = this.parseFrameResponse(native, '*');
      // Uncompressed after all, or compressed in a syntax the server decodes itself (codecs/).
      if (nativeByteOrder(data.transferSyntaxUID) !== undefined || serverDecodes(data.transferSyntaxUID)) return data;
      throw new UnsupportedImage(
        `it is stored as ${transferSyntaxName(data.transferSyntaxUID)}, which the PACS cannot convert to uncompressed pixels`,
        `GET ${url} (uncompressed): HTTP ${response.status}: ${errorSummary(response)}`,
      );
    }
    throw this.frameStatusError(native, frame) ?? statusError(response, 'frame');
  }

  /**
   * The whole Pixel Data element as stored (WADO-RS bulk data, all frames, no transcoding): the
   * fallback for uncompressed layouts a PACS cannot split into frames (Orthanc and YBR_FULL_422).
   * `bulkDataUri` (from the metadata) is used only when it lies under this client's base URL;
   * otherwise `{instance}/bulk/7fe00010` is asked for.
   */
  async getPixelDataBulk(ref: InstanceRef, bulkDataUri?: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const instance = this.instanceUrl(ref);
    const url = bulkDataUri !== undefined && bulkDataUri.startsWith(`${instance}/`) ? bulkDataUri : `${instance}/bulk/7fe00010`;
    const response = await pacsGet(url, 'multipart/related; type="application/octet-stream"', { ...this.http, signal: options.signal });
    if (response.status !== 200) throw statusError(response, 'pixel data');
    return this.parseFrameResponse(response, '*').bytes;
  }

  /**
   * QIDO-RS search: `path` under the root (`series`, `studies/{uid}/series/{uid}/instances`) with
   * `query` as match keys, every page read (`limit`/`offset`, `pageSize` per request). Each result
   * is one DICOM JSON dataset.
   * @throws PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
   */
  async search(path: string, query: Readonly<Record<string, string>> = {}, options: RequestOptions & { pageSize?: number } = {}): Promise<DicomJsonDataset[]> {
    if (!/^[A-Za-z0-9.\/]+$/.test(path)) throw new TypeError(`QIDO path must be UIDs and resource names, got ${JSON.stringify(path)}`);
    const pageSize = options.pageSize ?? 500;
    const results: DicomJsonDataset[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const params = new URLSearchParams({ ...query, limit: String(pageSize), offset: String(offset) });
      const url = `${this.baseUrl}/${path}?${params.toString()}`;
      const response = await pacsGet(url, 'application/dicom+json, application/json;q=0.9', { ...this.http, signal: options.signal });
      if (response.status === 204) break;
      if (response.status !== 200) throw statusError(response, 'search');
      let parsed: unknown;
      try {
        parsed = response.body.length === 0 ? [] : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
      } catch (error) {
        throw new PacsBadResponse(`GET ${url}: search answer is not valid JSON`, { cause: error });
      }
      if (!Array.isArray(parsed)) throw new PacsBadResponse(`GET ${url}: search answer is not a JSON array`);
      for (const item of parsed) results.push(parseInstanceMetadata([item]));
      if (parsed.length < pageSize) break;
    }
    return results;
  }

  /**
   * An instance as a DICOM Part 10 file (WADO-RS, as stored: no transcoding, so compressed
   * objects such as RLE SEGs arrive as written).
   * @throws InvalidImageReference, PacsNotFound, PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
   */
  async getInstance(ref: InstanceRef, options: RequestOptions = {}): Promise<Uint8Array> {
    const url = this.instanceUrl(ref);
    const response = await pacsGet(url, 'multipart/related; type="application/dicom"; transfer-syntax=*', { ...this.http, signal: options.signal });
    if (response.status !== 200) throw statusError(response, 'instance');
    return this.parseFrameResponse(response, '*').bytes;
  }

  /** Errors with a specific meaning for frame requests (Orthanc's 400s), else undefined. */
  private frameStatusError(response: PacsResponse, frame: number): DicomError | undefined {
    if (response.status === 400) {
      const message = orthancMessage(response);
      if (message === 'Parameter out of range') return new FrameOutOfRange(frame);
      if (message === 'Bad file format') return new CorruptImage(`GET ${response.url}: ${errorSummary(response)}`);
    }
    if (response.status === 500 && orthancMessage(response) === 'Not implemented yet') {
      // Orthanc's answer to frame requests for objects without pixel data (SR, PDF...).
      return new NotAnImage(undefined, `GET ${response.url}: ${errorSummary(response)}`);
    }
    if (response.status === 404) return statusError(response, 'frame');
    if (response.status === 401 || response.status === 403) return statusError(response, 'frame');
    return undefined;
  }

  /** Extracts the first part of a multipart/related frame answer (or a bare octet-stream). */
  private parseFrameResponse(response: PacsResponse, asked: string): FrameData {
    const header = response.headers.get('content-type');
    if (header === null) throw new PacsBadResponse(`GET ${response.url}: frame answer has no Content-Type`);
    try {
      const outer = parseContentType(header);
      let part: { body: Uint8Array; contentType: string | undefined };
      if (outer.mediaType === 'multipart/related') {
        const boundary = outer.params.get('boundary');
        if (boundary === undefined) throw new MultipartError('multipart answer has no boundary');
        const parts = parseMultipart(response.body, boundary);
        if (parts.length === 0) throw new MultipartError('multipart answer has no parts');
        part = { body: parts[0]!.body, contentType: parts[0]!.headers.get('content-type') ?? outer.params.get('type') };
      } else {
        part = { body: response.body, contentType: header };
      }
      const partType = part.contentType === undefined ? undefined : parseContentType(part.contentType);
      const transferSyntaxUID =
        partType?.params.get('transfer-syntax') ?? outer.params.get('transfer-syntax') ?? (asked === '*' ? EXPLICIT_VR_LITTLE_ENDIAN : asked);
      return { bytes: part.body, transferSyntaxUID, mediaType: partType?.mediaType ?? 'application/octet-stream' };
    } catch (error) {
      if (error instanceof MultipartError) {
        throw new PacsBadResponse(`GET ${response.url}: malformed frame answer: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}
