/**
 * When a worker may be terminated. Terminating a thread while an onnxruntime call is in flight
 * aborts the whole process (measured: "terminate called after throwing an instance of
 * 'Napi::Error'", most times); terminating it while it runs JavaScript (image decoding,
 * preprocessing, mask encoding) is safe. So the worker counts its onnxruntime calls (runs, session
 * loads and releases) in a shared word, and the pool, when it must stop a worker, forbids new
 * calls and terminates the thread once the calls in flight have returned.
 *
 * word[0]: onnxruntime calls in flight, or -1 once the thread may be terminated (no call can start).
 * word[1]: 1 when the pool wants the thread stopped.
 */

const STOPPED = -1;

export function newGuardWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Worker side: runs an onnxruntime call, unless the pool has asked to stop this thread. */
export async function guardedNative<T>(word: Int32Array, call: () => Promise<T>): Promise<T> {
  for (;;) {
    const inFlight = Atomics.load(word, 0);
    if (inFlight === STOPPED || Atomics.load(word, 1) === 1) throw new Error('this worker is being stopped');
    if (Atomics.compareExchange(word, 0, inFlight, inFlight + 1) === inFlight) break;
  }
  try {
    return await call();
  } finally {
    Atomics.sub(word, 0, 1);
  }
}

/**
 * Pool side: calls `terminate` as soon as the thread has no onnxruntime call in flight (at once
 * when it is running JavaScript; otherwise when its calls return, polled every `pollMs`).
 */
export function terminateWhenSafe(word: Int32Array, terminate: () => void, pollMs = 10): void {
  Atomics.store(word, 1, 1);
  if (Atomics.compareExchange(word, 0, 0, STOPPED) === 0) return terminate();
  setTimeout(() => terminateWhenSafe(word, terminate, pollMs), pollMs);
}
