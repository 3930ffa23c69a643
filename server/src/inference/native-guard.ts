/**
 * When a worker may be terminated. Terminating a thread while an onnxruntime call is in flight
 * aborts the whole process (measured: "terminate called after throwing an instance of
 * 'Napi::Error'", most times); terminating it while it runs JavaScript (image decoding,
 * preprocessing, mask encoding) is safe. So the worker marks its onnxruntime calls in a shared
 * word, and the pool, when it must stop a worker, forbids new calls and waits for the one in
 * flight to return before it terminates the thread.
 */

/** The shared word's states. */
const JS = 0;
const NATIVE = 1;
/** No onnxruntime call in flight and none may start: the thread can be terminated. */
const STOPPABLE = 2;
/** A call is in flight and the pool wants to stop the thread once it returns. */
const NATIVE_STOP_WANTED = 3;

export function newGuardWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Worker side: runs an onnxruntime call, unless the pool has asked to stop this thread. */
export async function guardedNative<T>(word: Int32Array, call: () => Promise<T>): Promise<T> {
  if (Atomics.compareExchange(word, 0, JS, NATIVE) !== JS) throw new Error('this worker is being stopped');
  try {
    return await call();
  } finally {
    if (Atomics.compareExchange(word, 0, NATIVE, JS) !== NATIVE) Atomics.store(word, 0, STOPPABLE);
  }
}

/**
 * Pool side: calls `terminate` as soon as the thread is in no onnxruntime call and can start none
 * (at once when it is running JavaScript; otherwise when its call returns, polled every `pollMs`).
 */
export function terminateWhenSafe(word: Int32Array, terminate: () => void, pollMs = 10): void {
  for (;;) {
    const state = Atomics.load(word, 0);
    if (state === STOPPABLE) return terminate();
    if (state === JS) {
      if (Atomics.compareExchange(word, 0, JS, STOPPABLE) === JS) return terminate();
      continue;
    }
    if (state === NATIVE && Atomics.compareExchange(word, 0, NATIVE, NATIVE_STOP_WANTED) !== NATIVE) continue;
    break;
  }
  setTimeout(() => terminateWhenSafe(word, terminate, pollMs), pollMs);
}
