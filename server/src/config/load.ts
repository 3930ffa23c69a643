/**
 * Reads the configuration: defaults, then a JSON file (--config or GLMEDSA_CONFIG), then GLMEDSA_*
 * environment variables; validated once at start with every problem listed.
 */
import { readFileSync } from 'node:fs';
import { type ServerConfig, ServerConfigSchema } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

function set(obj: Json, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Json;
  }
  o[path[path.length - 1]!] = value;
}

function int(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got '${v}'`);
  return n;
}

/** on/off switches: on, true, 1 or off, false, 0. */
function onOff(name: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['on', 'true', '1'].includes(s)) return true;
  if (['off', 'false', '0'].includes(s)) return false;
  throw new ConfigError(`${name} must be on or off (or true/false, 1/0), got '${v}'`);
}

const ROLES = new Set(['viewer', 'annotator', 'admin']);

/**
 * GLMEDSA_API_KEYS: entries separated by commas, each KEY:ROLE or KEY:ROLE:NAME. A key may itself
 * hold colons (sha256:<hex> does), so fields are read from the right: the role is the last field
 * when that is a role name, else the one before it, and then the last field is the name (so a
 * name cannot be a role name, and neither names nor roles hold colons).
 */
function parseApiKeys(name: string, value: string): { key: string; role: string; name: string }[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const fields = entry.split(':');
      const last = fields.length - 1;
      const roleAt = ROLES.has(fields[last]!) ? last : last - 1;
      const key = fields.slice(0, Math.max(0, roleAt)).join(':');
      if (roleAt < 1 || !key || !ROLES.has(fields[roleAt]!)) {
        throw new ConfigError(`${name}: entry ${i + 1} must be KEY:ROLE or KEY:ROLE:NAME with ROLE one of viewer, annotator, admin`);
      }
      return { key, role: fields[roleAt]!, name: roleAt < last ? fields[last]! : `key-${i + 1}` };
    });
}

/** GLMEDSA_* variables and where they go. */
export const ENV_VARS: Record<string, { path: string[]; parse?: (name: string, v: string) => unknown; help: string }> = {
  GLMEDSA_HOST: { path: ['listen', 'host'], help: 'listen address (default 127.0.0.1)' },
  GLMEDSA_PORT: { path: ['listen', 'port'], parse: int, help: 'listen port (default 8787)' },
  GLMEDSA_PACS_URL: { path: ['pacs', 'url'], help: "the PACS's DICOMweb root, e.g. http://pacs:8042/dicom-web" },
  GLMEDSA_PACS_USERNAME: { path: ['pacs', 'username'], help: 'PACS basic-auth user' },
  GLMEDSA_PACS_PASSWORD: { path: ['pacs', 'password'], help: 'PACS basic-auth password' },
  GLMEDSA_PACS_TOKEN: { path: ['pacs', 'token'], help: 'PACS bearer token' },
  GLMEDSA_PACS_TIMEOUT_MS: { path: ['pacs', 'timeoutMs'], parse: int, help: 'timeout of each PACS request' },
  GLMEDSA_DEVICE: { path: ['device'], help: 'auto | cuda | cpu' },
  GLMEDSA_WORKERS: { path: ['workers', 'count'], parse: int, help: 'inference worker threads (default 2 with at least 2 cores and 4 GiB, else 1)' },
  GLMEDSA_THREADS: { path: ['workers', 'threads'], parse: int, help: 'onnxruntime threads per worker (0 = one per core)' },
  GLMEDSA_ORT_MEM_ARENA: { path: ['workers', 'cpuMemArena'], parse: onOff, help: "onnxruntime's CPU memory arena in each session: on | off (default on)" },
  GLMEDSA_ORT_SPINNING: { path: ['workers', 'spinning'], parse: onOff, help: "onnxruntime's CPU threads spin between runs: on | off (default off: they sleep)" },
  GLMEDSA_QUEUE_LIMIT: { path: ['workers', 'queueLimit'], parse: int, help: 'queued inference jobs before 503' },
  GLMEDSA_CACHE_BYTES: { path: ['cache', 'embeddingBytes'], parse: int, help: 'embedding cache size in bytes' },
  GLMEDSA_UPLOAD_CACHE_BYTES: { path: ['cache', 'uploadBytes'], parse: int, help: 'bytes of uploaded images kept in memory (default 268435456)' },
  GLMEDSA_AUTH: { path: ['auth', 'mode'], help: 'off | required' },
  GLMEDSA_ALLOW_UNAUTHENTICATED_NETWORK: {
    path: ['auth', 'allowUnauthenticatedNetwork'],
    parse: (_n, v) => v === 'true' || v === '1',
    help: 'allow auth off on a non-loopback address (not recommended)',
  },
  GLMEDSA_API_KEYS: {
    path: ['auth', 'apiKeys'],
    parse: parseApiKeys,
    help: 'comma-separated KEY:ROLE[:NAME]; KEY may be sha256:<64 hex> (roles viewer, annotator, admin)',
  },
  GLMEDSA_OIDC_ISSUER: { path: ['auth', 'oidc', 'issuer'], help: 'OIDC issuer URL (JWTs verified with its JWKS)' },
  GLMEDSA_OIDC_AUDIENCE: { path: ['auth', 'oidc', 'audience'], help: 'expected JWT audience' },
  GLMEDSA_OIDC_JWKS_URL: { path: ['auth', 'oidc', 'jwksUrl'], help: 'JWKS URL (default: from the issuer discovery document)' },
  GLMEDSA_CORS_ORIGINS: { path: ['cors', 'origins'], parse: (_n, v) => v.split(',').map((s) => s.trim()).filter(Boolean), help: 'allowed browser origins' },
  GLMEDSA_ALLOWED_HOSTS: {
    path: ['http', 'allowedHosts'],
    parse: (_n, v) => v.split(',').map((s) => s.trim()).filter(Boolean),
    help: "host names the server answers for without authentication (default: localhost, 127.0.0.1, [::1]; '*' = any)",
  },
  GLMEDSA_SHUTDOWN_GRACE_MS: { path: ['http', 'shutdownGraceMs'], parse: int, help: 'on shutdown, how long requests in flight may take before their inference jobs get 503 (default 10000)' },
  GLMEDSA_MAX_CONNECTIONS: { path: ['http', 'maxConnections'], parse: int, help: 'open HTTP connections at most (default 256)' },
  GLMEDSA_MAX_CONNECTIONS_PER_CLIENT: {
    path: ['http', 'maxConnectionsPerClient'],
    parse: int,
    help: 'open HTTP connections from one client address at most (default half of the maximum, at most 64)',
  },
  GLMEDSA_PUBLIC_URL: { path: ['http', 'publicUrl'], help: "the URL browsers reach this server at (a reverse proxy's URL); written by the PACS into its answers' URLs" },
  GLMEDSA_STOW_BYTES: { path: ['limits', 'stowBytes'], parse: int, help: 'largest STOW-RS body the DICOMweb proxy forwards (default 1073741824)' },
  GLMEDSA_MAX_IMAGE_SIDE: { path: ['limits', 'maxImageSide'], parse: int, help: 'largest width or height of any image, in pixels (default 16384)' },
  GLMEDSA_MAX_IMAGE_PIXELS: { path: ['limits', 'maxImagePixels'], parse: int, help: 'largest width x height of any image (default 67108864, 8192 x 8192)' },
  GLMEDSA_LARGE_IMAGE_PIXELS: {
    path: ['limits', 'largeImagePixels'],
    parse: int,
    help: 'images with more pixels are decoded in strips and take the large-image lane, one at a time (default 4194304, 2048 x 2048)',
  },
  GLMEDSA_WORKER_HEAP_MB: { path: ['limits', 'workerHeapMb'], parse: int, help: 'V8 heap of each inference worker, in MB (default 2048)' },
  GLMEDSA_MODEL_DIR: {
    path: ['models'],
    parse: (_n, v) => [{ id: 'default', dir: v }],
    help: 'a model folder to serve (replaces the configured models)',
  },
  GLMEDSA_VIEWER: { path: ['viewer', 'enabled'], parse: (_n, v) => v === 'true' || v === '1' || v === 'on', help: 'serve the OHIF viewer (default on)' },
  GLMEDSA_OHIF_DIR: { path: ['viewer', 'ohifDir'], help: 'the unpacked OHIF dist folder (default .data/ohif/3.13.2/dist)' },
  GLMEDSA_DECODE_IN: { path: ['viewer', 'decodeIn'], help: "where the viewer decodes clicks: auto (default: the browser, the server where it cannot), browser or server" },
  GLMEDSA_DECODE_BACKEND: { path: ['viewer', 'decodeBackend'], help: "the browser path's onnxruntime-web backend: auto (default: WebGPU on a hardware adapter, else wasm), webgpu or wasm" },
  GLMEDSA_VIEWER_SOURCE_MAPS: { path: ['viewer', 'sourceMaps'], parse: onOff, help: 'serve the source maps of the /ext/ modules: on | off (default off)' },
  GLMEDSA_VIEWER_API_KEY: { path: ['viewer', 'apiKey'], help: "an API key put in the viewer's public app-config.js (trusted networks only)" },
  GLMEDSA_PROPAGATION_MAX_RUNNING: { path: ['propagation', 'maxRunning'], parse: int, help: 'propagations through a series computing at once (default 2)' },
  GLMEDSA_PROPAGATION_QUEUE_LIMIT: { path: ['propagation', 'queueLimit'], parse: int, help: 'propagations waiting before new ones get 503 (default 16)' },
  GLMEDSA_LOG_LEVEL: { path: ['logLevel'], help: 'fatal | error | warn | info | debug' },
  GLMEDSA_ROLE: { path: ['role'], help: 'api | trainer | all (default all; api and trainer need GLMEDSA_QUEUE_URL)' },
  GLMEDSA_QUEUE_URL: { path: ['queue', 'url'], help: 'the shared queue of a cluster, redis://host:6379 (absent: one machine, SQLite jobs)' },
  GLMEDSA_QUEUE_PREFIX: { path: ['queue', 'prefix'], help: "prefix of the cluster's Redis keys (default glmedsa)" },
  GLMEDSA_QUEUE_LOCK_MS: { path: ['queue', 'lockMs'], parse: int, help: "a running job's lock; a dead trainer is noticed when it expires (default 30000)" },
  GLMEDSA_REPLICA_ID: { path: ['queue', 'replicaId'], help: "this replica's name in job records (default host:pid)" },
  GLMEDSA_STORAGE_DIR: { path: ['storage', 'dir'], help: 'the folder all replicas share (adapter versions, checkpoints); needed with a queue' },
  GLMEDSA_DRAIN_MS: { path: ['http', 'drainMs'], parse: int, help: "on shutdown, how long /readyz says 'draining' before the server stops (behind a balancer; default 0)" },
};

export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Json } = {}): ServerConfig {
  const env = options.env ?? process.env;
  let raw: Json = {};
  const file = options.file ?? env['GLMEDSA_CONFIG'];
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (err) {
      throw new ConfigError(`cannot read the configuration file ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file} must hold a JSON object`);
  }
  /** 'a.b' -> the variable that set it, so a refusal names what the operator typed. */
  const fromEnv = new Map<string, string>();
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    set(raw, spec.path, spec.parse ? spec.parse(name, v) : v);
    fromEnv.set(spec.path.join('.'), name);
  }
  for (const [k, v] of Object.entries(options.overrides ?? {})) raw[k] = v;
  const parsed = ServerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const where = i.path.join('.');
      const name = fromEnv.get(where);
      return `  - ${where || '(root)'}${name ? ` (set by ${name})` : ''}: ${i.message}`;
    });
    throw new ConfigError(`the configuration is not valid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The security rule of the issue: on a non-loopback address, authentication must be on. */
export function checkExposure(c: ServerConfig): void {
  if (!isLoopback(c.listen.host) && c.auth.mode === 'off' && !c.auth.allowUnauthenticatedNetwork) {
    throw new ConfigError(
      `refusing to listen on ${c.listen.host} without authentication: configure API keys or OIDC and set auth.mode 'required' ` +
        `(GLMEDSA_AUTH=required, GLMEDSA_API_KEYS=KEY:ROLE), or set auth.allowUnauthenticatedNetwork to accept the risk`,
    );
  }
}
