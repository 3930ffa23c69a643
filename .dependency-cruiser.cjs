/**
 * The house's import rules, checked by dependency-cruiser over the product sources (models/src,
 * server/src, extension/src, mode/src). test/layering.test.ts runs them in `npm test`; by hand:
 *   npx depcruise models/src server/src extension/src mode/src
 * docs/architecture.md ("Packages and their rules") says why each rule is there.
 *
 * What they check:
 * - models imports nothing of the server, the extension or the mode; the server nothing of the
 *   extension or the mode (dependencies point one way: extension/mode -> HTTP -> server -> models);
 * - the server's API module (server/src/api) imports only itself and zod, so browsers can run it;
 * - the decode core (models/src/decode) imports only itself: no Node.js, no packages;
 * - the extension and the mode import of our packages only those two;
 * - no two folders import each other, directly or around a loop;
 * - the server's folders keep their order (SERVER_ROWS): a folder imports only folders on rows
 *   below its own, so siblings on one row never import each other and nothing points back up;
 *   a folder on no row fails until it is given one;
 * - express is imported only at the server's HTTP edge (the entry files, routes/, viewer/, http/);
 * - every import resolves (a typo, or a package that is not installed, fails here too).
 */

/**
 * The server's folders (and top-level files) from the top down. A room imports only rooms on the
 * rows below its own; the entry files form one room.
 */
const SERVER_ROWS = [
  // Starting the server: the command, the package entry, assembly and shutdown, the express app,
  // joining a cluster, a trainer replica.
  [['main.ts', 'index.ts', 'server.ts', 'app.ts', 'cluster.ts', 'trainer.ts']],
  // What HTTP clients reach: the v1 API and health routes, the viewer with its DICOMweb proxy; the
  // command beside the server (glmedsa-server propagate --dicom).
  ['routes', 'viewer', 'cli'],
  // HTTP plumbing: authentication, problem documents, listening.
  ['http'],
  // Propagations through a series: work that runs clicks' machinery (the segmentation service) at length.
  ['propagation'],
  // The services: fine-tuning jobs, adapter activation, clicks.
  ['jobs', 'adapters', 'segmentation'],
  // Inference workers, training data from the PACS, the demo studies, series as volumes, the
  // cluster's shared queue of long work.
  ['inference', 'datasets', 'demo', 'series', 'queue'],
  // What there is to serve, the glmedsa child processes, images for SAM, the bundled Orthanc.
  ['catalog', 'children', 'images', 'bundled-pacs'],
  // DICOM and DICOMweb, configuration, the cluster's Redis connections and bus.
  ['dicom', 'config', 'redis'],
  // Leaves shared by all: the domain errors, metrics, the byte-bounded LRU, process settings.
  ['errors.ts', 'metrics.ts', 'cache', 'process', 'types'],
  // The v1 contract (also the browser's).
  ['api'],
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The path pattern of a room: a folder (everything below it) or a file, or a group of files. */
const roomPath = (room) =>
  Array.isArray(room) ? `^server/src/(${room.map(escape).join('|')})$` : room.endsWith('.ts') ? `^server/src/${escape(room)}$` : `^server/src/${escape(room)}/`;
const roomName = (room) => (Array.isArray(room) ? 'entry' : room.replace(/\.ts$/, ''));

const serverOrder = SERVER_ROWS.flatMap((row, i) =>
  row.map((room) => ({
    name: `server-order:${roomName(room)}`,
    severity: 'error',
    comment: `server/src/${roomName(room)} imports only the server folders on the rows below its own (.dependency-cruiser.cjs SERVER_ROWS)`,
    from: { path: roomPath(room) },
    to: { path: '^server/src/', pathNot: [roomPath(room), ...SERVER_ROWS.slice(i + 1).flat().map(roomPath)] },
  })),
);

const HTTP_EDGE = [SERVER_ROWS[0][0], 'routes', 'viewer', 'http'].map(roomPath);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'models-knows-no-server',
      severity: 'error',
      comment: 'models/ is the model compiler and runtime: it knows nothing of HTTP, DICOM or the viewer',
      from: { path: '^models/' },
      to: { path: '^(server|extension|mode)/' },
    },
    {
      name: 'server-knows-no-viewer-code',
      severity: 'error',
      comment: 'the viewer code reaches the server over HTTP; the server serves its built files and imports none of them',
      from: { path: '^server/' },
      to: { path: '^(extension|mode)/' },
    },
    {
      name: 'api-module-browser-safe',
      severity: 'error',
      comment: 'server/src/api is bundled into the OHIF extension: it imports only itself and zod (no Node.js, no express, nothing of models)',
      from: { path: '^server/src/api/' },
      to: { pathNot: ['^server/src/api/', '(^|/)node_modules/zod/'] },
    },
    {
      name: 'decode-core-browser-safe',
      severity: 'error',
      comment: 'models/src/decode is bundled into the OHIF extension and runs in the server alike: it imports only itself',
      from: { path: '^models/src/decode/' },
      to: { pathNot: '^models/src/decode/' },
    },
    {
      name: 'viewer-code-uses-only-the-shared-modules',
      severity: 'error',
      comment: 'the extension and the mode take from our packages only the API module and the decode core (source or built)',
      from: { path: '^(extension|mode)/' },
      to: { path: '^(models|server)/', pathNot: ['^server/(dist/)?src/api/', '^models/(dist/)?src/decode/'] },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'two folders never import each other, directly or around a loop',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    ...serverOrder,
    {
      name: 'server-room-unplaced',
      severity: 'error',
      comment: 'every folder and top-level file of server/src stands on a row of SERVER_ROWS in .dependency-cruiser.cjs: give a new one its place',
      from: { path: '^server/src/', pathNot: SERVER_ROWS.flat().map(roomPath) },
      to: {},
    },
    {
      name: 'express-only-at-the-edge',
      severity: 'error',
      comment: 'the domain folders throw domain errors; only the entry, routes/, viewer/ and http/ know express',
      from: { path: '^server/src/', pathNot: HTTP_EDGE },
      to: { path: '(^|/)node_modules/express/' },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment: 'every import resolves to a file or an installed package',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Built files are the other packages' faces: recorded, not walked (the sources are cruised).
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    // Type-only imports count: a browser module that imports a Node type still drags Node in for
    // the code that type-checks it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    // Workspace packages resolve through their package.json exports (types first), as tsc does.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['types', 'import', 'default'] },
  },
};
