/**
 * Loading the @cornerstonejs codec packages (emscripten WASM builds, CommonJS) in Node: the .wasm
 * file is located through the package's own `exports` and handed over as bytes, so the module
 * never looks for it on its own (no fetch, no path guessing), and each module is loaded once per
 * thread, on first use.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The parts of an emscripten-bound C++ object every codec class has. */
export interface EmbindObject {
  /** Frees the C++ object (embind objects are not garbage collected). */
  delete(): void;
}

/** Image description the codecs read and write (their `FrameInfo` struct). */
export interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
  isUsingColorTransform?: boolean;
}

type Factory<M> = (options: { wasmBinary: Uint8Array; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<M>;

/**
 * One emscripten module (`jsSpecifier`, binary `wasmSpecifier`: package export paths), loaded
 * once per thread on first {@link load}, then used synchronously through {@link get}. After a
 * failure inside the module (an abort leaves its memory in an unknown state) {@link discard}
 * drops it, and the next {@link load} starts a fresh instance.
 */
export class WasmModule<M> {
  private loaded: M | undefined;
  private loading: Promise<M> | undefined;

  constructor(
    readonly name: string,
    private readonly jsSpecifier: string,
    private readonly wasmSpecifier: string,
  ) {}

  /** Loads the module (once; concurrent callers share the load). */
  async load(): Promise<void> {
    if (this.loaded !== undefined) return;
    this.loading ??= (async () => {
      const factory = require(this.jsSpecifier) as Factory<M>;
      const wasmBinary = readFileSync(require.resolve(this.wasmSpecifier));
      // The codecs print warnings themselves; keep them out of the server's output.
      return factory({ wasmBinary, print: () => {}, printErr: () => {} });
    })();
    try {
      this.loaded = await this.loading;
    } finally {
      this.loading = undefined;
    }
  }

  /** True once {@link load} has finished. */
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** The loaded module. @throws Error when {@link load} has not finished (a programming error) */
  get(): M {
    if (this.loaded === undefined) throw new Error(`the ${this.name} codec is not loaded (call loadCodecFor first)`);
    return this.loaded;
  }

  /** Forgets the instance (after an error inside it). */
  discard(): void {
    this.loaded = undefined;
  }
}

/** The frame info with every optional field filled (embind refuses a struct with a field missing). */
export function fullFrameInfo(info: CodecFrameInfo): Required<CodecFrameInfo> {
  return { isSigned: false, isUsingColorTransform: false, ...info };
}
