/** multipart/related and Content-Type parsing: preambles, CRLFs, binary bodies, malformed input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MultipartError, parseContentType, parseMultipart } from '../../src/dicom/multipart.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? enc(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

describe('Content-Type', () => {
  it("parses Orthanc's quoted type with an embedded ';' and '='", () => {
    const ct = parseContentType('multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=abc-123');
    assert.equal(ct.mediaType, 'multipart/related');
    assert.equal(ct.params.get('type'), 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
    assert.equal(ct.params.get('boundary'), 'abc-123');
    assert.equal(parseContentType(ct.params.get('type')!).params.get('transfer-syntax'), '1.2.840.10008.1.2.1');
  });

  it('handles case, spaces, escapes and a trailing semicolon; rejects garbage', () => {
    const ct = parseContentType('Multipart/Related ;  Boundary="a\\"b" ; TYPE=application/octet-stream;');
    assert.equal(ct.mediaType, 'multipart/related');
    assert.equal(ct.params.get('boundary'), 'a"b');
    assert.equal(ct.params.get('type'), 'application/octet-stream');
    assert.throws(() => parseContentType('nonsense'), MultipartError);
    assert.throws(() => parseContentType('a/b; x="unterminated'), MultipartError);
  });
});

describe('multipart bodies', () => {
  it('reads parts with a preamble and an epilogue, binary-safe', () => {
    const binary = new Uint8Array([0, 13, 10, 45, 45, 255, 13, 10]);
    const body = concat('preamble text\r\n--XyZ\r\nContent-Type: application/octet-stream\r\n\r\n', binary, '\r\n--XyZ\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--XyZ--\r\nepilogue');
    const parts = parseMultipart(body, 'XyZ');
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[0]!.body, binary);
    assert.equal(parts[0]!.headers.get('content-type'), 'application/octet-stream');
    assert.equal(new TextDecoder().decode(parts[1]!.body), 'second');
  });

  it('uses Content-Length when the data itself contains the delimiter', () => {
    const data = enc('ab\r\n--B\r\ncd');
    const body = concat(`--B\r\nContent-Length: ${data.length}\r\n\r\n`, data, '\r\n--B--');
    assert.deepEqual(parseMultipart(body, 'B')[0]!.body, data);
  });

  it('accepts a part without headers and an empty body', () => {
    const parts = parseMultipart(enc('--b\r\n\r\n\r\n--b--'), 'b');
    assert.equal(parts.length, 1);
    assert.equal(parts[0]!.body.length, 0);
  });

  it('rejects truncated or inconsistent bodies', () => {
    assert.throws(() => parseMultipart(enc('--b\r\nContent-Type: x/y\r\n\r\nabc'), 'b'), /truncated/);
    assert.throws(() => parseMultipart(enc('no boundary here'), 'b'), /no opening boundary/);
    assert.throws(() => parseMultipart(enc('--b\r\nContent-Length: 9\r\n\r\nabc\r\n--b--'), 'b'), /declares 9 bytes/);
    assert.throws(() => parseMultipart(enc('--b\r\nbroken header\r\n\r\nabc\r\n--b--'), 'b'), MultipartError);
    assert.throws(() => parseMultipart(enc('--b\r\n\r\nabc\r\n--b'), 'b'), MultipartError);
  });
});
