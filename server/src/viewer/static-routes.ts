/**
 * The viewer's files: the OHIF dist (hashed bundles cached for good, everything else revalidated),
 * our generated app-config.js, our run-time modules under /ext/ (JavaScript with CORS headers for
 * the configured origins, so a site's own OHIF can import them), and OHIF's client-side routes
 * (/glmedsa, /viewer, ...) answered with index.html. All public: no patient data is here.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, Router } from 'express';
import { sendProblem } from '../http/problem.js';

interface ViewerStaticOptions {
  ohifDir: string;
  extDir: string;
  appConfigJs: string;
  /** Origins allowed to import /ext/ modules from another origin. */
  corsOrigins: string[];
  /** Path prefixes that belong to the API, never to the viewer's routes. */
  apiPrefixes: string[];
  /** Serve the source maps (*.map) of our modules; off by default, as they hold the whole source. */
  sourceMaps: boolean;
}

const JS = 'text/javascript; charset=utf-8';

/**
 * Makes the viewer's pages cross-origin isolated, so onnxruntime-web may use wasm threads
 * (SharedArrayBuffer). Everything the viewer loads comes from this origin (the DICOMweb proxy
 * included); the headers go on every viewer file too, because a worker's own script must carry
 * the embedder policy for a worker to start in an isolated page.
 */
function isolate(res: express.Response): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
}
const HASHED = /\.[0-9a-f]{16,}\.(js|css|wasm)$|^[0-9a-f]{16,}\.(wasm|woff2)$/;

/** A cross-origin request (its Origin is not this server's own) from an origin not configured: refused. */
function refuseUnlistedOrigins(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin || allowed.has('*') || allowed.has(origin) || origin === `${req.protocol}://${req.get('host')}`) return next();
    sendProblem(res, 403, 'Forbidden', `the origin ${origin} is not allowed to load these modules; add it to the server's cors.origins`);
  };
}

export function viewerStatic(o: ViewerStaticOptions): Router {
  const router = Router();
  const ready = () => existsSync(path.join(o.ohifDir, 'index.html'));

  router.get('/app-config.js', (_req, res) => {
    res.setHeader('Content-Type', JS);
    res.setHeader('Cache-Control', 'no-cache');
    isolate(res);
    res.send(o.appConfigJs);
  });

  router.use('/ext', refuseUnlistedOrigins(o.corsOrigins));
  if (!o.sourceMaps) {
    router.use('/ext', (req, res, next) => {
      if (!req.path.endsWith('.map')) return next();
      sendProblem(res, 404, 'Not found', 'the source maps of the modules are not served (viewer.sourceMaps, GLMEDSA_VIEWER_SOURCE_MAPS)');
    });
  }
  router.use(
    '/ext',
    express.static(o.extDir, {
      index: false,
      fallthrough: true,
      setHeaders(res, file) {
        if (/\.(m?js)$/.test(file)) res.setHeader('Content-Type', JS);
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
        isolate(res);
      },
    }),
  );
  router.use('/ext', (req, res) => {
    const hint = existsSync(o.extDir) ? '' : ' (the modules are not built: run npm run build:ext)';
    sendProblem(res, 404, 'Not found', `there is no module ${req.path} under /ext/${hint}`);
  });

  // OHIF's own routes: any GET for a page (no file extension, so never a file of the dist) outside
  // the API gets the app; it runs before the static files so that / and folders are pages too.
  router.get(/.*/, (req, res, next) => {
    if (o.apiPrefixes.some((p) => req.path === p || req.path.startsWith(`${p}/`))) return next();
    if (/\.[A-Za-z0-9]+$/.test(req.path)) return next();
    if (!ready()) {
      return sendProblem(res, 503, 'Viewer not set up', 'the OHIF viewer is not installed on this server yet: run npm run setup:viewer (or npm start) once');
    }
    res.setHeader('Cache-Control', 'no-cache');
    isolate(res);
    res.sendFile('index.html', { root: o.ohifDir });
  });
  router.use(
    express.static(o.ohifDir, {
      index: false,
      setHeaders(res, file) {
        res.setHeader('Cache-Control', HASHED.test(path.basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache');
        if (file.endsWith('.mjs')) res.setHeader('Content-Type', JS);
        isolate(res);
      },
    }),
  );

  return router;
}
