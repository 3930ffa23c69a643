/**
 * A PACS that answers slowly on request: an HTTP proxy in front of the stack's Orthanc that holds
 * each request whose path matches back for a while before passing it on (streamed both ways, headers
 * as they are). For tests that need long work to stay long, e.g. a propagation that must still be
 * running when the user presses Esc, however fast the model is.
 *
 *   const pacs = slowPacs();
 *   const session = viewerSession({ pacsVia: pacs.via });
 *   pacs.hold(/\/frames\//, 300);   // every frame request waits 300 ms
 *   pacs.freeze();                  // and from now on waits until released (those waiting too)
 *   pacs.hold(null);                // back to full speed; what waits goes on
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowPacs {
  /** For StackOptions.pacsVia: starts the proxy in front of Orthanc's DICOMweb URL and answers the proxy's. */
  via(dicomWebUrl: string): Promise<string>;
  /** Holds requests whose path matches `match` back `ms` milliseconds each (null: none, and lets every request still held go on). */
  hold(match: RegExp | null, ms?: number): void;
  /** Requests that match the current rule, and those already held, wait until `hold(null)`: work that needs them cannot end meanwhile. */
  freeze(): void;
  /** Requests held back so far. */
  readonly held: number;
  close(): Promise<void>;
}

export function slowPacs(): SlowPacs {
  let server: Server | null = null;
  let rule: { match: RegExp; ms: number } | null = null;
  let held = 0;
  let frozen: Array<() => void> | null = null;
  return {
    async via(dicomWebUrl: string): Promise<string> {
      const target = new URL(dicomWebUrl);
      server = createServer((req, res) => {
        const pass = () => {
          const up = request(
            { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
          req.pipe(up);
        };
        if (rule && rule.match.test(req.url ?? '')) {
          held++;
          const go = () => (frozen ? frozen.push(go) : pass());
          if (frozen) frozen.push(go);
          else setTimeout(go, rule.ms);
        } else pass();
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      return `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`;
    },
    hold(match, ms = 0) {
      rule = match ? { match, ms } : null;
      if (!rule && frozen) {
        const waiting = frozen;
        frozen = null;
        for (const go of waiting) go();
      }
    },
    freeze() {
      frozen ??= [];
    },
    get held() {
      return held;
    },
    async close() {
      server?.closeAllConnections();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    },
  };
}
