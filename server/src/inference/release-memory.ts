/**
 * A full garbage collection after a large image: the strips, the intermediate rows and a dropped
 * codec instance are garbage once the job ends, but an idle worker runs no JavaScript to prompt
 * V8 into collecting them, so the memory would stay with the process until the next jobs. `gc` is
 * made available to this thread once (V8's expose-gc flag, then the function from a new context).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
