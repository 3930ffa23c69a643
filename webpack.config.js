/**
 * Builds the OHIF run-time modules: extension/ -> dist/ext/glmedsa-extension.mjs and
 * mode/ -> dist/ext/glmedsa-mode.mjs, as ES modules the viewer import()s. Nothing from OHIF,
 * React or Cornerstone may be bundled or imported by name: the code takes them from the running
 * viewer, so any such import is a build error here (externals that fail loudly).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const PEERS = /^(react|react-dom|@ohif\/|@cornerstonejs\/)/;

function entry(name, dir) {
  return {
    name,
    mode: process.env.NODE_ENV === 'development' ? 'development' : 'production',
    devtool: 'source-map',
    target: ['web', 'es2022'],
    entry: path.join(root, dir, 'src/index.ts'),
    experiments: { outputModule: true },
    output: {
      path: path.join(root, 'dist/ext'),
      filename: `${name}.mjs`,
      library: { type: 'module' },
      module: true,
      chunkFormat: 'module',
      clean: false,
    },
    resolve: { extensions: ['.ts', '.tsx', '.js'], extensionAlias: { '.js': ['.ts', '.tsx', '.js'] } },
    module: {
      // import.meta.url must stay the module's real URL (the mode finds the extension next to it).
      parser: { javascript: { importMeta: false, url: false } },
      rules: [
        {
          test: /\.tsx?$/,
          loader: 'ts-loader',
          options: {
            configFile: path.join(root, dir, 'tsconfig.json'),
            transpileOnly: true,
            compilerOptions: { composite: false, declaration: false, emitDeclarationOnly: false, noEmit: false, sourceMap: true },
          },
        },
      ],
    },
    externals: [
      ({ request }, callback) => {
        if (request && PEERS.test(request)) {
          return callback(new Error(`${dir}: '${request}' is imported at run time; take it from the viewer instead (type-only imports are fine)`));
        }
        return callback();
      },
    ],
    performance: { hints: false },
    optimization: { splitChunks: false },
  };
}

export default [entry('glmedsa-extension', 'extension'), entry('glmedsa-mode', 'mode')];
