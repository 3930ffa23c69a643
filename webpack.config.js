/**
 * Builds the OHIF run-time modules: extension/ -> dist/ext/glmedsa-extension.mjs and
 * mode/ -> dist/ext/glmedsa-mode.mjs, as ES modules the viewer import()s. Nothing from OHIF,
 * React or Cornerstone may be bundled or imported by name: the code takes them from the running
 * viewer, so any such import is a build error here (externals that fail loudly).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const PEERS = /^(react|react-dom|@ohif\/|@cornerstonejs\/)/;

/**
 * onnxruntime-web's wasm runtime with its loader module, copied to dist/ext/ort/ so the server
 * serves them under /ext/ort/ for the browser decode path. The build we bundle ('onnxruntime-web',
 * dist/ort.min.mjs) registers the webgpu, webnn and wasm backends on one runtime, the JSEP one, and
 * loads only ort-wasm-simd-threaded.jsep.{mjs,wasm}, for wasm and WebGPU alike; the plain
 * ort-wasm-simd-threaded.{mjs,wasm} are for the 'onnxruntime-web/wasm' build and are never fetched.
 */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];
class CopyOrtWasm {
  apply(compiler) {
    compiler.hooks.afterEmit.tap('CopyOrtWasm', () => {
      const require = createRequire(path.join(root, 'extension', 'package.json'));
      const dist = path.dirname(require.resolve('onnxruntime-web')); // its dist/ folder
      const to = path.join(root, 'dist/ext/ort');
      rmSync(to, { recursive: true, force: true });
      mkdirSync(to, { recursive: true });
      for (const f of ORT_FILES) copyFileSync(path.join(dist, f), path.join(to, f));
    });
  }
}

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
    resolve: {
      extensions: ['.ts', '.tsx', '.js'],
      extensionAlias: { '.js': ['.ts', '.tsx', '.js'] },
      // onnxruntime-web's build that loads its wasm loader (.mjs) from env.wasm.wasmPaths (/ext/ort/)
      // instead of inlining it: its worker threads then start from that file, not from our bundle.
      conditionNames: ['onnxruntime-web-use-extern-wasm', 'webpack', 'production', 'browser', 'import', 'module', 'default'],
    },
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
    plugins: name === 'glmedsa-extension' ? [new CopyOrtWasm()] : [],
  };
}

export default [entry('glmedsa-extension', 'extension'), entry('glmedsa-mode', 'mode')];
