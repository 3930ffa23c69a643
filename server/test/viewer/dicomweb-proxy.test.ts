/**
 * The viewer's same-origin DICOMweb proxy against a real Orthanc that requires its own
 * credentials: reads and STOW stream through with the server's PACS credentials, the caller's key
 * and role are checked, Orthanc's answers point back at the proxy, only DICOMweb resources pass,
 * and a PACS that is down or silent is a sentence.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { buildDemoStudies } from '../../src/demo/demo-studies.js';
import type { RunningServer } from '../../src/server.js';
import { httpServer, silentServer } from '../helpers/fake-pacs.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { getWithHost, startTestServer } from '../helpers/server.js';

const VIEWER_KEY = 'viewer-key-0123456789';
const ANNOTATOR_KEY = 'annotator-key-0123456789';
const PACS_USER = { username: 'glmedsa-proxy', password: 'pacs-secret-42' };

/** Orthanc's own words, which must not reach a caller. */
const PACS_WORDING = /orthanc|OrthancError|HttpStatus|Message|Details|Uri|Method/;

/** A GET whose path goes out exactly as written (fetch would resolve its dot segments first). */
function rawGet(base: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

/** A STOW-RS request body: one Part 10 file in multipart/related. */
function stowBody(file: Uint8Array): { headers: Record<string, string>; bytes: Blob } {
  const boundary = 'glmedsa-test-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
    bytes: new Blob([Buffer.concat([head, Buffer.from(file), tail])]),
  };
}

describe('the DICOMweb proxy', () => {
  const orthanc = useOrthanc(PACS_USER);
  const demo = buildDemoStudies({ photos: 2, size: 64, slices: 1, ctSize: 32 });
  const [first, second] = demo.files;
  let server: RunningServer;

  function problem(body: string): { status: number; detail: string } {
    const p = JSON.parse(body) as { status: number; detail: string };
    assert.equal(typeof p.detail, 'string');
    return p;
  }

  before(async () => {
    await orthanc.upload(first!.bytes);
    server = await startTestServer(orthanc.handle.dicomWebUrl, {
      pacs: { url: orthanc.handle.dicomWebUrl, timeoutMs: 5000, ...PACS_USER },
      auth: {
        mode: 'required',
        apiKeys: [
          { key: VIEWER_KEY, role: 'viewer', name: 'reader' },
          { key: ANNOTATOR_KEY, role: 'annotator', name: 'annotator' },
        ],
      },
    });
  });
  after(async () => {
    await server?.close();
  });

  describe('reading through the proxy', () => {
    test('an includefield list with escaped commas (as OHIF sends it) brings the StudyDescription', async () => {
      const res = await fetch(`${server.url}/dicom-web/studies?includefield=00081030%2C00080060`, { headers: { 'x-api-key': VIEWER_KEY, accept: 'application/dicom+json' } });
      assert.equal(res.status, 200);
      const studies = (await res.json()) as Record<string, { Value?: string[] }>[];
      assert.equal(studies.length, 1);
      assert.ok(studies[0]!['00081030']?.Value?.[0], `StudyDescription in ${JSON.stringify(studies[0])}`);
      assert.ok(studies[0]!['00080061']?.Value?.length, 'ModalitiesInStudy');
    });

    test('QIDO answers with the PACS studies, using the server credentials, never the caller key', async () => {
      const res = await fetch(`${server.url}/dicom-web/studies`, { headers: { 'x-api-key': VIEWER_KEY, accept: 'application/dicom+json' } });
      assert.equal(res.status, 200);
      const studies = (await res.json()) as Record<string, { Value?: string[] }>[];
      assert.deepEqual(
        studies.map((s) => s['0020000D']?.Value?.[0]),
        [first!.instance.studyInstanceUID],
      );
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal(res.headers.get('www-authenticate'), null);
    });

    test("metadata URLs point back at the proxy, not at the PACS's own address", async () => {
      const i = first!.instance;
      const res = await fetch(`${server.url}/dicom-web/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/metadata`, {
        headers: { authorization: `ApiKey ${VIEWER_KEY}` },
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(!text.includes(orthanc.handle.url), 'the PACS address leaks into the metadata');
      assert.ok(text.includes(`"BulkDataURI"`) && text.includes(`${server.url}/dicom-web/studies/${i.studyInstanceUID}`), 'the bulk data URLs do not point at the proxy');
    });

    test('a frame streams through byte for byte (multipart, as the viewer asks for it)', async () => {
      const i = first!.instance;
      const path = `/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/instances/${i.sopInstanceUID}/frames/1`;
      const accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
      const auth = `Basic ${Buffer.from(`${PACS_USER.username}:${PACS_USER.password}`).toString('base64')}`;
      const fromPacs = await fetch(`${orthanc.handle.dicomWebUrl}${path}`, { headers: { accept, authorization: auth } });
      const viaProxy = await fetch(`${server.url}/dicom-web${path}`, { headers: { accept, 'x-api-key': VIEWER_KEY } });
      assert.equal(viaProxy.status, 200);
      const noBoundary = (ct: string | null) => (ct ?? '').replace(/boundary=[^;]+/, '');
      assert.equal(noBoundary(viaProxy.headers.get('content-type')), noBoundary(fromPacs.headers.get('content-type')));
      const a = new Uint8Array(await fromPacs.arrayBuffer());
      const b = new Uint8Array(await viaProxy.arrayBuffer());
      assert.ok(b.length > 64 * 64 * 3, `the frame answer is only ${b.length} bytes`);
      // Multipart boundaries differ per answer; the payload between them is the same pixels.
      const boundary = (ct: string | null) => /boundary="?([^";]+)"?/.exec(ct ?? '')![1]!;
      const body = (bytes: Uint8Array, ct: string | null) => Buffer.from(bytes).toString('latin1').split(`--${boundary(ct)}`)[1]!.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      assert.equal(body(b, viaProxy.headers.get('content-type')), body(a, fromPacs.headers.get('content-type')));
    });
  });

  describe("the caller's authorisation", () => {
    test('no key: 401 with a sentence, and the PACS is not asked', async () => {
      const res = await fetch(`${server.url}/dicom-web/studies`);
      assert.equal(res.status, 401);
      assert.match(problem(await res.text()).detail, /API key|bearer/i);
    });

    test('a wrong key: 401', async () => {
      const res = await fetch(`${server.url}/dicom-web/studies`, { headers: { 'x-api-key': 'not-a-key-but-long-enough' } });
      assert.equal(res.status, 401);
    });

    test('STOW needs the annotator role: a viewer is refused, an annotator stores the object', async () => {
      const body = stowBody(second!.bytes);
      const asViewer = await fetch(`${server.url}/dicom-web/studies`, { method: 'POST', headers: { ...body.headers, 'x-api-key': VIEWER_KEY }, body: body.bytes });
      assert.equal(asViewer.status, 403);
      assert.match(problem(await asViewer.text()).detail, /annotator/);

      const asAnnotator = await fetch(`${server.url}/dicom-web/studies`, { method: 'POST', headers: { ...body.headers, 'x-api-key': ANNOTATOR_KEY }, body: body.bytes });
      assert.equal(asAnnotator.status, 200, await asAnnotator.clone().text());
      const i = second!.instance;
      const stored = await fetch(`${server.url}/dicom-web/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/instances`, {
        headers: { 'x-api-key': VIEWER_KEY, accept: 'application/dicom+json' },
      });
      assert.equal(stored.status, 200);
      const instances = (await stored.json()) as Record<string, { Value?: string[] }>[];
      assert.deepEqual(instances.map((x) => x['00080018']?.Value?.[0]).sort(), [first!.instance.sopInstanceUID, i.sopInstanceUID].sort());
    });

    test('dot segments and escapes cannot climb out of the DICOMweb resources', async () => {
      for (const p of ['/dicom-web/studies/../servers', '/dicom-web/studies/%2e%2e/servers', '/dicom-web/studies/%2E%2E/%2E%2E/system', '/dicom-web/studies%2F..%2Fservers']) {
        const status = await rawGet(server.url, p, { 'x-api-key': ANNOTATOR_KEY });
        assert.equal(status, 404, p);
      }
    });

    test('only DICOMweb resources pass: Orthanc-specific routes are not reachable, other methods are refused', async () => {
      const servers = await fetch(`${server.url}/dicom-web/servers`, { headers: { 'x-api-key': ANNOTATOR_KEY } });
      assert.equal(servers.status, 404);
      const del = await fetch(`${server.url}/dicom-web/studies/${first!.instance.studyInstanceUID}`, { method: 'DELETE', headers: { 'x-api-key': ANNOTATOR_KEY } });
      assert.equal(del.status, 405);
      assert.match(problem(await del.text()).detail, /does not allow DELETE/);
      const stillThere = await fetch(`${server.url}/dicom-web/studies?StudyInstanceUID=${first!.instance.studyInstanceUID}`, { headers: { 'x-api-key': VIEWER_KEY } });
      assert.equal(((await stillThere.json()) as unknown[]).length, 1);
    });
  });

  describe("the PACS's answers are ours", () => {
    test("a 5xx of the PACS (Orthanc's 500 for limit=-1) is our 502 problem, without its JSON", async () => {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/dicom-web/studies?limit=-1&offset=-5`, { headers: { 'x-api-key': VIEWER_KEY } });
      const text = await res.text();
      process.stdout.write(`# limit=-1&offset=-5: ${res.status} in ${(performance.now() - t0).toFixed(0)} ms\n`);
      assert.equal(res.status, 502, text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(problem(text).detail, /^the PACS failed to answer this request \(HTTP 5\d\d\)/);
      assert.doesNotMatch(text, PACS_WORDING);
      assert.ok(!text.includes(orthanc.handle.url) && !text.includes('/dicom-web/studies'), text);
    });

    test("a 4xx of the PACS is our sentence with its status, without Orthanc's words or URIs", async () => {
      const res = await fetch(`${server.url}/dicom-web/studies/1.2.3.4/metadata`, { headers: { 'x-api-key': VIEWER_KEY } });
      const text = await res.text();
      assert.equal(res.status, 404, text);
      assert.equal(problem(text).detail, 'the PACS has no such study, series, instance or frame (HTTP 404)');
      assert.doesNotMatch(text, PACS_WORDING);
    });

    test("with authentication on and no allowed hosts, the caller's Host does not end up in the PACS's URLs", async () => {
      const i = first!.instance;
      const r = await getWithHost(server.url, `/dicom-web/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/metadata`, 'evil.example:4443', { 'x-api-key': VIEWER_KEY });
      assert.equal(r.status, 200, r.body);
      assert.ok(!r.body.includes('evil.example'), 'the foreign Host was written into the answer');
    });

    test('with a public URL configured, the PACS writes that into its URLs', async () => {
      const s = await startTestServer(orthanc.handle.dicomWebUrl, {
        pacs: { url: orthanc.handle.dicomWebUrl, timeoutMs: 5000, ...PACS_USER },
        auth: { mode: 'required', apiKeys: [{ key: VIEWER_KEY, role: 'viewer' }] },
        http: { publicUrl: 'https://viewer.hospital.example' },
      });
      try {
        const i = first!.instance;
        const r = await getWithHost(s.url, `/dicom-web/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/metadata`, 'evil.example:4443', { 'x-api-key': VIEWER_KEY });
        assert.equal(r.status, 200, r.body);
        assert.ok(r.body.includes(`https://viewer.hospital.example/dicom-web/studies/${i.studyInstanceUID}`), 'the bulk data URLs do not use the public URL');
        assert.ok(!r.body.includes('evil.example'));
      } finally {
        await s.close();
      }
    });

    test("only an allow-list of the PACS's response headers reaches the caller", async () => {
      const pacs = await httpServer((_req, res) => {
        res.setHeader('Content-Type', 'application/dicom+json');
        res.setHeader('ETag', '"v1"');
        res.setHeader('Warning', '299 pacs: "There are additional results that can be requested"');
        res.setHeader('Server', 'ORTHANC');
        res.setHeader('X-Orthanc-Internal', 'secret-id');
        res.setHeader('Content-Security-Policy', "default-src 'none'");
        res.setHeader('Location', 'http://10.0.0.5:8042/dicom-web/studies/1');
        res.end('[]');
      });
      const s = await startTestServer(`${pacs.url}/dicom-web`, { pacs: { url: `${pacs.url}/dicom-web`, timeoutMs: 2000 } });
      try {
        const res = await fetch(`${s.url}/dicom-web/studies`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/dicom+json');
        assert.equal(res.headers.get('etag'), '"v1"');
        assert.match(res.headers.get('warning') ?? '', /additional results/);
        for (const h of ['server', 'x-orthanc-internal', 'content-security-policy', 'location']) assert.equal(res.headers.get(h), null, h);
      } finally {
        await s.close();
        await pacs.close();
      }
    });
  });

  describe('STOW from a page of another site', () => {
    test('a form or text/plain STOW is refused and never reaches the PACS, a foreign origin is refused before its role', async () => {
      let stows = 0;
      const pacs = await httpServer((req, res) => {
        if (req.method === 'POST') stows++;
        req.resume();
        res.setHeader('Content-Type', 'application/dicom+json');
        res.end('{}');
      });
      const s = await startTestServer(`${pacs.url}/dicom-web`, { pacs: { url: `${pacs.url}/dicom-web`, timeoutMs: 2000 } });
      try {
        const form = await fetch(`${s.url}/dicom-web/studies`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
        assert.equal(form.status, 403);
        const plain = await fetch(`${s.url}/dicom-web/studies`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'DICM' });
        assert.equal(plain.status, 415);
        assert.match(problem(await plain.text()).detail, /multipart\/related/);
        const ownPage = await fetch(`${s.url}/dicom-web/studies`, { method: 'POST', headers: { origin: s.url, 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }, body: '--x--' });
        assert.equal(ownPage.status, 200);
        assert.equal(stows, 1, 'only the STOW from the server\'s own page reached the PACS');
      } finally {
        await s.close();
        await pacs.close();
      }
    });
  });

  describe('a PACS that fails', () => {
    test('wrong PACS credentials on the server: 502 that says so (not a 401 the browser would misread)', async () => {
      const s = await startTestServer(orthanc.handle.dicomWebUrl, { pacs: { url: orthanc.handle.dicomWebUrl, timeoutMs: 5000, username: 'glmedsa-proxy', password: 'wrong' } });
      try {
        const res = await fetch(`${s.url}/dicom-web/studies`);
        assert.equal(res.status, 502);
        assert.match(problem(await res.text()).detail, /refused this server's credentials/);
      } finally {
        await s.close();
      }
    });

    test('a PACS that is down: 502 naming it', async () => {
      const s = await startTestServer('http://127.0.0.1:9/dicom-web');
      try {
        const res = await fetch(`${s.url}/dicom-web/studies`);
        assert.equal(res.status, 502);
        assert.match(problem(await res.text()).detail, /cannot be reached/);
      } finally {
        await s.close();
      }
    });

    test('a PACS that never answers: 504 after the configured timeout', async () => {
      const silent = await silentServer();
      const s = await startTestServer(`${silent.url}/dicom-web`, { pacs: { url: `${silent.url}/dicom-web`, timeoutMs: 500 } });
      try {
        const res = await fetch(`${s.url}/dicom-web/studies`);
        assert.equal(res.status, 504);
        assert.match(problem(await res.text()).detail, /did not answer within 0.5 s/);
      } finally {
        await s.close();
        await silent.close();
      }
    });
  });
});
