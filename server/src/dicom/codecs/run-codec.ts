/** Running one call into a WASM codec: the C++ object is always freed, and any failure is typed. */
import { CorruptImage } from '../errors.js';
import type { EmbindObject, WasmModule } from './emscripten.js';

/**
 * Creates a codec object with `create`, runs `use` on it, and frees it. A failure inside the
 * codec becomes a CorruptImage (the data could not be decoded). A C++ exception (thrown to
 * JavaScript as a number) leaves the module usable; anything else (a WebAssembly trap or an
 * emscripten abort) may leave its memory inconsistent, so that instance is discarded and the
 * next `load` starts a fresh one.
 */
export function runCodec<M, O extends EmbindObject, R>(wasm: WasmModule<M>, what: string, create: (m: M) => O, use: (o: O) => R): R {
  const m = wasm.get();
  let object: O | undefined;
  try {
    object = create(m);
    return use(object);
  } catch (error) {
    if (error instanceof CorruptImage) throw error;
    if (typeof error !== 'number') wasm.discard();
    throw new CorruptImage(`${what} decoder failed: ${codecErrorText(error)}`);
  } finally {
    try {
      object?.delete();
    } catch {
      // the instance was discarded above; nothing else to free
    }
  }
}

function codecErrorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return `code ${String(error)}`;
}
