/**
 * Misbehaving servers on loopback for the failure tests: one that accepts connections and never
 * answers, and plain HTTP servers with scripted answers.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';

/** A listening server and how to get rid of it. */
export interface FakeServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Requests (or connections, for the silent server) seen so far. */
  readonly hits: () => number;
  close(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>, hits: () => number): Promise<FakeServer> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no TCP address'));
        return;
      }
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        hits,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Accepts TCP connections, reads whatever comes, and never answers. */
export function silentServer(): Promise<FakeServer> {
  let count = 0;
  const server = createNetServer((socket) => {
    count++;
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
  });
  return listen(server, new Set(), () => count);
}

/** An HTTP server answering every request with `handler`. */
export function httpServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<FakeServer> {
  let count = 0;
  const server = createHttpServer((request, response) => {
    count++;
    handler(request, response);
  });
  return listen(server, new Set(), () => count);
}
