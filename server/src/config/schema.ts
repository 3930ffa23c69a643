/**
 * The server's configuration: one zod schema with defaults that run on this machine (loopback,
 * the starter model, a local Orthanc). Values come from a JSON file and GLMEDSA_* variables.
 */
import os from 'node:os';
import { PRESETS, VARIANTS } from '@glmedsa/models';
import { z } from 'zod';
import { RoleSchema } from '../api/whoami.js';

/** Memory below which the server runs one inference worker: each worker holds its own sessions. */
export const TWO_WORKERS_MIN_MEMORY = 4 * 1024 ** 3;

/**
 * The default number of inference workers: 2 on a machine with at least 2 cores and 4 GiB, so
 * that a click on an image whose embedding is cached never waits behind an encode (the pool lets
 * encodes occupy all workers but one), else 1. More workers add encode throughput, not fairness,
 * and each holds a copy of every model's sessions: set workers.count (GLMEDSA_WORKERS) for that.
 */
export function defaultWorkerCount(cores = os.availableParallelism(), memory = os.totalmem()): number {
  return cores >= 2 && memory >= TWO_WORKERS_MIN_MEMORY ? 2 : 1;
}

const PRESET_NAMES = Object.keys(PRESETS) as [keyof typeof PRESETS, ...(keyof typeof PRESETS)[]];

const Role = RoleSchema;
export type Role = z.infer<typeof Role>;

const ApiKey = z.object({
  /** The key itself, or its SHA-256 (hex) prefixed with 'sha256:' so the file holds no secret. */
  key: z
    .string()
    .min(16, 'API keys must have at least 16 characters')
    .refine((k) => !k.startsWith('sha256:') || /^sha256:[0-9a-fA-F]{64}$/.test(k), 'a hashed API key is sha256: followed by 64 hex digits'),
  role: Role,
  name: z.string().default('api-key'),
});

const ModelEntry = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'model ids are lowercase letters, digits, . _ -'),
    /** An exported model folder (glmedsa export). */
    dir: z.string().optional(),
    /** Or a checkpoint exported at start into exportDir. */
    checkpoint: z.string().optional(),
    preset: z.enum(PRESET_NAMES).optional(),
    config: z.string().optional(),
    variant: z.enum(VARIANTS).optional(),
    inputSize: z.number().int().min(64).max(4096).optional(),
    exportDir: z.string().optional(),
  })
  .refine((m) => !!m.dir !== !!m.checkpoint, { message: 'give a model either dir or checkpoint' })
  .refine((m) => !m.checkpoint || !!m.preset || !!m.config, { message: 'a checkpoint needs a preset or a config file' });

export const ServerConfigSchema = z
  .object({
    listen: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8787) })
      .default({ host: '127.0.0.1', port: 8787 }),
    pacs: z
      .object({
        url: z.string().url().default('http://127.0.0.1:8042/dicom-web'),
        username: z.string().optional(),
        password: z.string().optional(),
        token: z.string().optional(),
        timeoutMs: z.number().int().min(100).max(600_000).default(15_000),
        maxFrameBytes: z.number().int().min(1024).default(512 * 1024 * 1024),
      })
      .default({ url: 'http://127.0.0.1:8042/dicom-web', timeoutMs: 15_000, maxFrameBytes: 512 * 1024 * 1024 }),
    models: z.array(ModelEntry).min(1).default([{ id: 'starter', dir: 'models/starter' }]),
    defaultModel: z.string().optional(),
    device: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
    workers: z
      .object({
        /** Default: {@link defaultWorkerCount} (2 with at least 2 cores and 4 GiB, else 1). */
        count: z.number().int().min(1).max(64).default(() => defaultWorkerCount()),
        /** onnxruntime intra-op threads per worker (0 = one per core). */
        threads: z.number().int().min(0).max(256).default(0),
        queueLimit: z.number().int().min(1).max(10_000).default(32),
        jobTimeoutMs: z.number().int().min(1000).default(120_000),
        /** onnxruntime's CPU memory arena in each session (see the README's memory section). */
        cpuMemArena: z.boolean().default(true),
        /**
         * onnxruntime's CPU threads spin between runs (onnxruntime's default) or sleep (ours): with
         * 2 workers on 2 cores, 8 concurrent clicking clients got 1.5x the throughput with them asleep.
         */
        spinning: z.boolean().default(false),
      })
      .default(() => ({ count: defaultWorkerCount(), threads: 0, queueLimit: 32, jobTimeoutMs: 120_000, cpuMemArena: true, spinning: false })),
    cache: z
      .object({
        embeddingBytes: z.number().int().min(0).default(1024 * 1024 * 1024),
        maskEntries: z.number().int().min(1).default(2000),
        maskTtlMs: z.number().int().min(1000).default(60 * 60 * 1000),
        uploadBytes: z.number().int().min(0).default(256 * 1024 * 1024),
      })
      .default({ embeddingBytes: 1024 ** 3, maskEntries: 2000, maskTtlMs: 3_600_000, uploadBytes: 256 * 1024 ** 2 }),
    auth: z
      .object({
        /** off: no authentication (allowed on loopback, or with allowUnauthenticatedNetwork). */
        mode: z.enum(['off', 'required']).default('off'),
        apiKeys: z.array(ApiKey).default([]),
        oidc: z
          .object({
            issuer: z.string().url(),
            audience: z.string(),
            jwksUrl: z.string().url().optional(),
            /** Claim holding the role(s); values matched against viewer/annotator/admin. */
            roleClaim: z.string().default('roles'),
          })
          .optional(),
        /** Explicitly allow running without authentication on a non-loopback address. */
        allowUnauthenticatedNetwork: z.boolean().default(false),
      })
      .default({ mode: 'off', apiKeys: [], allowUnauthenticatedNetwork: false }),
    cors: z.object({ origins: z.array(z.string()).default([]) }).default({ origins: [] }),
    http: z
      .object({
        /**
         * Host names (Host header, any port) the server answers for when authentication is off, so a
         * web page cannot reach it through DNS rebinding. Empty: localhost, 127.0.0.1, [::1] and the
         * listen address. '*' turns the check off.
         */
        allowedHosts: z.array(z.string().min(1)).default([]),
        /** Time a client has to send the request headers. */
        headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        /** Time a client has to send the whole request, headers and body. */
        requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
        /** How long an idle keep-alive connection stays open between requests. */
        keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
        /** A connection with no traffic either way for this long is closed (longer than a slow encode). */
        idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
        /** Open connections at most; more are refused by the OS-level accept. */
        maxConnections: z.number().int().min(1).max(100_000).default(256),
        /**
         * Open connections from one client address at most, so that one address (a script holding
         * slow connections) cannot take them all; more from that address are closed as they
         * arrive. Default: half of maxConnections, at most 64 (a browser opens 6 per server).
         * Behind a reverse proxy every request comes from the proxy's address: raise it there.
         */
        maxConnectionsPerClient: z.number().int().min(1).max(100_000).optional(),
        /**
         * The URL browsers reach this server at (behind a reverse proxy, the proxy's URL). It is
         * this server's own origin for the cross-site check, and the DICOMweb proxy asks the PACS
         * to write it into the URLs of its answers (RetrieveURL, BulkDataURI).
         */
        publicUrl: z.string().url().optional(),
        /** On shutdown, how long requests in flight may take to finish; past it their inference jobs are answered 503. */
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
        /**
         * On shutdown, how long /readyz answers 503 ("draining") while the server still serves, before
         * it stops taking connections: behind a load balancer, longer than its health checks take to
         * mark the replica down (HAProxy: inter x fall), so no click is sent to a closed port. 0 on one machine.
         */
        drainMs: z.number().int().min(0).max(600_000).default(0),
      })
      .default({ allowedHosts: [], headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 300_000, maxConnections: 256, shutdownGraceMs: 10_000, drainMs: 0 }),
    limits: z
      .object({
        jsonBytes: z.number().int().min(1024).default(256 * 1024),
        uploadBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
        /** Largest width and largest height of any image (upload or DICOM frame), checked from its header. */
        maxImageSide: z.number().int().min(64).max(65_535).default(16_384),
        /** Largest width x height (8192 x 8192 by default), checked from the header before decoding. */
        maxImagePixels: z.number().int().min(4096).max(1_000_000_000).default(64 * 1024 * 1024),
        /**
         * Images with more pixels than this (2048 x 2048 by default) are large: decoded a strip at a
         * time straight into the encoder's size, their masks upsampled row by row, one of them in
         * the workers at a time, never on the last free worker (see the README's memory section).
         */
        largeImagePixels: z.number().int().min(4096).max(1_000_000_000).default(2048 * 2048),
        /** The largest STOW-RS body the DICOMweb proxy forwards to the PACS (saving a DICOM SEG), checked from Content-Length. */
        stowBytes: z.number().int().min(1024).default(1024 * 1024 * 1024),
        maxPoints: z.number().int().min(1).max(1000).default(64),
        /** V8 heap of each inference worker (worker_threads resourceLimits): a runaway decode ends that worker only. */
        workerHeapMb: z.number().int().min(64).max(65_536).default(2048),
      })
      .default({ jsonBytes: 256 * 1024, uploadBytes: 32 * 1024 * 1024, stowBytes: 1024 ** 3, maxImageSide: 16_384, maxImagePixels: 64 * 1024 * 1024, largeImagePixels: 2048 * 2048, maxPoints: 64, workerHeapMb: 2048 }),
    /** The bundled OHIF viewer, our run-time modules under /ext/ and the same-origin DICOMweb proxy. */
    viewer: z
      .object({
        enabled: z.boolean().default(true),
        /** The unpacked OHIF dist (default: .data/ohif/<version>/dist under the repository, made by npm run setup:viewer). */
        ohifDir: z.string().optional(),
        /** Our built extension and mode modules (default: dist/ext under the repository, made by webpack). */
        extDir: z.string().optional(),
        /** The API URL the viewer's extension calls (default: the viewer's own origin). */
        serverUrl: z.string().url().optional(),
        /** A key written into the PUBLIC app-config.js for the extension to send; only for trusted networks and tests. */
        apiKey: z.string().optional(),
        /** Where the viewer's extension decodes clicks: 'server' (POST /v1/segment), 'browser' (onnxruntime-web), 'auto' (browser, server on any failure); absent: the extension's default, 'auto'. */
        decodeIn: z.enum(['browser', 'server', 'auto']).optional(),
        /** The browser path's onnxruntime-web backend: 'auto' (WebGPU on a hardware adapter, else wasm), 'webgpu' (software adapters too), 'wasm'; absent: 'auto'. */
        decodeBackend: z.enum(['auto', 'webgpu', 'wasm']).optional(),
        /** Proxy /dicom-web to the PACS (the viewer's data source); off when a site's OHIF talks to its PACS directly. */
        proxyPacs: z.boolean().default(true),
        /** Serve the source maps of our modules under /ext/ (for debugging; they hold the whole source). */
        sourceMaps: z.boolean().default(false),
      })
      .default({ enabled: true, proxyPacs: true, sourceMaps: false }),
    jobs: z
      .object({
        /** Folder of prepared dataset folders (default DATA/datasets), for jobs whose dataset is {"folder": ...}; PACS datasets need none. */
        datasetRoot: z.string().optional(),
        /** onnxruntime threads of a job's child processes (bounded, so clicks stay fast). */
        threads: z.number().int().min(1).max(256).default(1),
        /** Jobs waiting behind the running one before new ones get 503. */
        queueLimit: z.number().int().min(0).max(1000).default(8),
        checkpointEvery: z.number().int().min(1).max(100_000).default(25),
        /** Server restarts a job survives (resumed from its checkpoint) before it is failed. */
        maxResumes: z.number().int().min(0).max(100).default(3),
        /** How long a replaced adapter version stays loaded for requests that started on it. */
        releaseGraceMs: z.number().int().min(0).default(120_000),
      })
      .default({ threads: 1, queueLimit: 8, checkpointEvery: 25, maxResumes: 3, releaseGraceMs: 120_000 }),
    /** Propagations of a mask through a series (POST /v1/propagations). */
    propagation: z
      .object({
        /** Propagations computing at once; the rest wait in a queue. */
        maxRunning: z.number().int().min(1).max(256).default(2),
        /** Propagations waiting for a turn before new ones get 503 with Retry-After. */
        queueLimit: z.number().int().min(0).max(10_000).default(16),
        /** Slices whose embeddings each propagation front encodes ahead on free workers. */
        lookahead: z.number().int().min(0).max(16).default(2),
        /** A propagation nobody watches (events stream) or asks for (GET) for this long is cancelled. */
        idleTimeoutMs: z.number().int().min(1000).max(86_400_000).default(120_000),
        /** Finished propagations kept for GET, at most this many... */
        keepFinished: z.number().int().min(1).max(100_000).default(64),
        /** ...and for at most this long. */
        keepFinishedMs: z.number().int().min(1000).default(3_600_000),
        /** Logit magnitude of a seed sent as counts when it becomes the first mask prompt. */
        seedMaskMagnitude: z.number().positive().max(100).default(8),
        /** The stop rule's thresholds (defaults: the models package's DEFAULT_STOP_RULE). */
        stopRule: z
          .object({
            minPixels: z.number().min(0),
            minSeedFraction: z.number().min(0).max(1),
            minScore: z.number(),
            minScoreRatio: z.number().min(0).max(1),
            minStability: z.number().min(0).max(1),
            maxGrowth: z.number().min(0),
            growthFromPixels: z.number().min(0),
            minOverlap: z.number().min(0).max(1),
            maxShift: z.number().min(0),
          })
          .strict()
          .partial()
          .default({}),
        /** How each next slice is prompted (defaults: the models package's DEFAULT_PROMPT). */
        prompt: z
          .object({ maskInput: z.boolean(), boxMargin: z.number().min(0).max(2).nullable(), point: z.boolean(), multimask: z.boolean() })
          .strict()
          .partial()
          .refine((p) => p.point !== false || p.boxMargin !== null, { message: 'a propagation prompt needs a point or a box' })
          .default({}),
      })
      .default(() => ({ maxRunning: 2, queueLimit: 16, lookahead: 2, idleTimeoutMs: 120_000, keepFinished: 64, keepFinishedMs: 3_600_000, seedMaskMagnitude: 8, stopRule: {}, prompt: {} })),
    /**
     * What this process does in a cluster (docs: README, "Running on several machines"): 'api'
     * answers HTTP (clicks, jobs, adapters) and runs no job; 'trainer' runs the queue's jobs and
     * answers only the health routes; 'all' (the default, and the only role without a queue) both.
     */
    role: z.enum(['api', 'trainer', 'all']).default('all'),
    /** The shared queue of long work (Redis, with BullMQ). Absent: one machine, jobs in DATA/jobs.sqlite. */
    queue: z
      .object({
        /** redis://[user:password@]host:port[/db] or rediss:// (TLS). */
        url: z
          .string()
          .regex(/^rediss?:\/\/[^\s]+$/, 'queue.url must be a redis:// or rediss:// URL, e.g. redis://redis.hospital.lan:6379')
          .optional(),
        /** Prefix of every key and channel, so several services can share one Redis. */
        prefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'queue.prefix is letters, digits, _ . -').default('glmedsa'),
        /** How long a replica waits for the queue at start before it gives up with a sentence. */
        connectTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
        /**
         * A running job's lock: renewed every half of it by its trainer; a trainer that dies is
         * noticed when it expires, and the job resumes elsewhere from its checkpoint.
         */
        lockMs: z.number().int().min(1000).max(3_600_000).default(30_000),
        /** How often the trainers look for jobs whose trainer died. */
        stalledCheckMs: z.number().int().min(500).max(3_600_000).default(15_000),
        /** This replica's name in job records and logs (default: host name and process id). */
        replicaId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'queue.replicaId is letters, digits, _ . : -').optional(),
      })
      .default({ prefix: 'glmedsa', connectTimeoutMs: 5_000, lockMs: 30_000, stalledCheckMs: 15_000 }),
    /**
     * Storage every replica shares (a shared file system: NFS, CephFS, ...): adapter versions, merged
     * models, the jobs' work folders with their checkpoints. Needed with a queue; absent: the data folder.
     */
    storage: z.object({ dir: z.string().min(1).optional() }).default({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    const ids = c.models.map((m) => m.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['models'], message: 'model ids must be unique' });
    if (c.defaultModel && !ids.includes(c.defaultModel)) {
      ctx.addIssue({ code: 'custom', path: ['defaultModel'], message: `no model with id '${c.defaultModel}'` });
    }
    if (c.http.headersTimeoutMs > c.http.requestTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['http', 'headersTimeoutMs'], message: 'must not be longer than http.requestTimeoutMs' });
    }
    if (c.role !== 'all' && !c.queue.url) {
      ctx.addIssue({ code: 'custom', path: ['role'], message: `role '${c.role}' needs a shared queue (queue.url): without one, ${c.role === 'api' ? 'no trainer would run its jobs' : 'no job would reach this trainer'}` });
    }
    if (c.queue.url && !c.storage.dir) {
      ctx.addIssue({ code: 'custom', path: ['storage', 'dir'], message: 'a replica on a shared queue needs storage.dir, a folder every replica shares (adapter versions, checkpoints), or a job trained on one machine could not be served or resumed on another' });
    }
    if (c.auth.mode === 'required' && !c.auth.apiKeys.length && !c.auth.oidc) {
      ctx.addIssue({ code: 'custom', path: ['auth'], message: 'authentication is required but no API keys or OIDC issuer are configured' });
    }
  });

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
export type ModelEntryConfig = z.infer<typeof ModelEntry>;
