/**
 * Progress reporting for long work (export, training): a redrawn line on a terminal, periodic
 * plain lines otherwise (logs, CI). Callers may also pass their own sink (e.g. SSE events).
 */

export interface ProgressEvent {
  task: string;
  done: number;
  total: number;
  /** Extra key/values shown after the bar (loss, throughput...). */
  info?: Record<string, string | number>;
}

export type ProgressSink = (e: ProgressEvent) => void;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A sink that writes to stderr: a bar with ETA on a TTY, a line every `intervalMs` otherwise. */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr, intervalMs = 5000): ProgressSink {
  const started = new Map<string, number>();
  let lastLine = 0;
  return (e) => {
    const now = Date.now();
    if (!started.has(e.task)) started.set(e.task, now);
    const elapsed = (now - started.get(e.task)!) / 1000;
    const frac = e.total > 0 ? e.done / e.total : 1;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Infinity;
    const info = Object.entries(e.info ?? {})
      .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(4) : v}`)
      .join('  ');
    const finished = e.done >= e.total;
    const text = `${e.task}: ${e.done}/${e.total} (${(frac * 100).toFixed(0)}%) elapsed ${formatDuration(elapsed)} eta ${finished ? '0s' : formatDuration(eta)}${info ? `  ${info}` : ''}`;
    if (stream.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${finished ? '\n' : ''}`);
    } else if (finished || now - lastLine >= intervalMs || e.done === 0) {
      lastLine = now;
      stream.write(`${text}\n`);
    }
  };
}

export const silentProgress: ProgressSink = () => undefined;
