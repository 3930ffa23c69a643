/**
 * Binary-safe parsing of `multipart/related` bodies (RFC 2046 / RFC 2387) as WADO-RS returns them,
 * and of Content-Type headers with quoted parameters, e.g. Orthanc's
 * `multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=...`.
 */

/** A media type with lower-cased type/subtype and parameter names. */
interface ContentType {
  /** e.g. `multipart/related` */
  readonly mediaType: string;
  /** Parameter values with quotes and escapes removed. */
  readonly params: ReadonlyMap<string, string>;
}

/** One body part: lower-cased header names, and the raw bytes (a view into the body). */
interface MultipartPart {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** Thrown for malformed Content-Type headers or multipart bodies. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Parses a Content-Type value; quoted parameter values may contain `;`, `=` and `\`-escapes. */
export function parseContentType(value: string): ContentType {
  let i = 0;
  const n = value.length;
  const readToken = (): string => {
    const start = i;
    while (i < n && value[i] !== ';' && value[i] !== '=') i++;
    return value.slice(start, i).trim();
  };
  const mediaType = readToken().toLowerCase();
  if (!/^[^\s/]+\/[^\s/]+$/.test(mediaType)) throw new MultipartError(`malformed Content-Type ${JSON.stringify(value)}`);
  const params = new Map<string, string>();
  while (i < n) {
    if (value[i] !== ';') throw new MultipartError(`malformed Content-Type ${JSON.stringify(value)}`);
    i++;
    const name = readToken().toLowerCase();
    if (i >= n || value[i] !== '=') {
      if (name === '') continue; // tolerate a trailing or doubled ';'
      throw new MultipartError(`Content-Type parameter ${JSON.stringify(name)} has no value`);
    }
    i++;
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
    let paramValue = '';
    if (value[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = value[i]!;
        if (c === '\\' && i + 1 < n) {
          paramValue += value[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          paramValue += c;
          i++;
        }
      }
      if (!closed) throw new MultipartError(`unterminated quoted value in Content-Type ${JSON.stringify(value)}`);
      while (i < n && value[i] !== ';') i++;
    } else {
      const start = i;
      while (i < n && value[i] !== ';') i++;
      paramValue = value.slice(start, i).trim();
    }
    if (name !== '') params.set(name, paramValue);
  }
  return { mediaType, params };
}

const latin1 = new TextDecoder('latin1');

/** Index of `needle` in `haystack` at or after `from`, or -1 (plain scan; boundaries are short). */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

function startsWith(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at < 0 || at + needle.length > haystack.length) return false;
  for (let j = 0; j < needle.length; j++) {
    if (haystack[at + j] !== needle[j]) return false;
  }
  return true;
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function parseHeaders(block: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of latin1.decode(block).split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed part header line ${JSON.stringify(line.slice(0, 100))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Splits a multipart body into its parts. The preamble before the first delimiter and the epilogue
 * after the closing one are ignored; a part's body ends at the CRLF that precedes the next
 * delimiter (a part's `Content-Length`, when present, must agree). Bodies are views, not copies.
 */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  if (boundary === '' || boundary.length > 200) throw new MultipartError('multipart boundary is empty or too long');
  const dashBoundary = ascii(`--${boundary}`);
  const delimiter = ascii(`\r\n--${boundary}`);
  // The first delimiter may start the body (no preamble) or follow a CRLF.
  let pos = startsWith(body, dashBoundary, 0) ? 0 : -1;
  if (pos === -1) {
    const found = indexOf(body, delimiter, 0);
    if (found === -1) throw new MultipartError('multipart body has no opening boundary');
    pos = found + 2;
  }
  pos += dashBoundary.length;
  const parts: MultipartPart[] = [];
  for (;;) {
    if (body[pos] === 45 && body[pos + 1] === 45) break; // "--": closing delimiter
    // Skip transport padding, then the CRLF ending the delimiter line.
    while (body[pos] === 32 || body[pos] === 9) pos++;
    if (body[pos] !== 13 || body[pos + 1] !== 10) throw new MultipartError('multipart delimiter is not followed by CRLF');
    pos += 2;
    let headerEnd: number;
    let bodyStart: number;
    if (body[pos] === 13 && body[pos + 1] === 10) {
      headerEnd = pos; // no headers
      bodyStart = pos + 2;
    } else {
      const blank = indexOf(body, ascii('\r\n\r\n'), pos);
      if (blank === -1) throw new MultipartError('multipart part headers are not terminated');
      headerEnd = blank;
      bodyStart = blank + 4;
    }
    const headers = parseHeaders(body.subarray(pos, headerEnd));
    // Trust a part's Content-Length when the delimiter sits right after it (binary-safe even if the
    // data happened to contain the delimiter); otherwise search for the delimiter.
    const declared = headers.get('content-length');
    const declaredLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    let next: number;
    if (declaredLength !== undefined && startsWith(body, delimiter, bodyStart + declaredLength)) {
      next = bodyStart + declaredLength;
    } else {
      next = indexOf(body, delimiter, bodyStart);
      if (next === -1) throw new MultipartError('multipart body is truncated (no closing boundary)');
      if (declaredLength !== undefined) {
        throw new MultipartError(`multipart part declares ${declaredLength} bytes but holds ${next - bodyStart}`);
      }
    }
    const partBody = body.subarray(bodyStart, next);
    parts.push({ headers, body: partBody });
    pos = next + delimiter.length;
    if (pos > body.length) throw new MultipartError('multipart body is truncated');
  }
  return parts;
}
