/**
 * Preloaded (`node --import`) into every job child process: when the server that started it dies
 * (even by kill -9), the child stops itself with SIGTERM, which `glmedsa train` answers by
 * writing its checkpoint and exiting, so no orphan keeps training next to a restarted server.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 500).unref();
