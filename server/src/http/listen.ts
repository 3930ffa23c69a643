/**
 * Binding the HTTP listener: a taken or forbidden address becomes a sentence naming the address
 * and port (not a library error), the connection limits (in all and per client address) and the
 * header, body and idle timeouts are applied, and `assertPortFree` lets a launcher check the port before it does slow work.
 */
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, type Socket, createServer as createNetServer } from 'node:net';

/** The listener could not be bound; the message says which address, why, and what to change. */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** The timeouts and limits of the HTTP listener (see `http` in the configuration). */
interface ListenerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** Open connections from one client address at most (see {@link connectionsPerClient}). */
  maxConnectionsPerClient?: number | undefined;
}

/** The per-address bound in force: the configured one, or half of the total at most 64. */
function connectionsPerClient(limits: Pick<ListenerLimits, 'maxConnections' | 'maxConnectionsPerClient'>): number {
  return limits.maxConnectionsPerClient ?? Math.max(1, Math.min(64, Math.floor(limits.maxConnections / 2)));
}

/**
 * Closes, as it arrives, a connection from an address that already holds `perClient` of them: one
 * client (a script opening connections and sending its headers slowly) cannot take every
 * connection the server allows, so /healthz and other clients still get through.
 */
function boundConnectionsPerClient(server: Server, perClient: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > perClient) {
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

function shown(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The sentence for a failed bind (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...). */
function describeListenError(err: NodeJS.ErrnoException, host: string, port: number): ListenError {
  const where = `port ${port} on ${shown(host)}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ListenError(
        `${where} is already in use (another glmedsa server or another program listens there); ` +
          'set GLMEDSA_PORT (or listen.port) to a free port, or stop the program that holds it',
        err.code,
      );
    case 'EACCES':
      return new ListenError(`${where} needs privileges this process lacks; set GLMEDSA_PORT to a port above 1023`, err.code);
    case 'EADDRNOTAVAIL':
      return new ListenError(`cannot listen on ${where}: ${shown(host)} is not an address of this machine; set GLMEDSA_HOST`, err.code);
    default:
      return new ListenError(`cannot listen on ${where}: ${err.message}`, err.code ?? 'UNKNOWN');
  }
}

/**
 * Throws a {@link ListenError} when `port` on `host` cannot be bound right now (it is bound
 * briefly and released). Port 0 is always free.
 */
export function assertPortFree(listen: { host: string; port: number }): Promise<void> {
  if (listen.port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(describeListenError(err, listen.host, listen.port)));
    probe.listen({ port: listen.port, host: listen.host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The URL a listening server is reached at (IPv6 hosts in brackets). */
export function listeningUrl(server: Server, host: string): { url: string; port: number } {
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port };
}

/** An HTTP server for `handler` with the limits applied, listening on host:port. */
export async function listenHttp(handler: RequestListener, listen: { host: string; port: number }, limits: ListenerLimits): Promise<Server> {
  const server = createHttpServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often node checks the header and body deadlines (its default, 30 s, would let a short
      // timeout run long).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4), Math.floor(limits.requestTimeoutMs / 4))),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  boundConnectionsPerClient(server, connectionsPerClient(limits));
  // A connection with no traffic at all (neither way) for this long is closed.
  server.timeout = limits.idleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(describeListenError(err, listen.host, listen.port));
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server;
}
