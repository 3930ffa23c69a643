/**
 * npm run bench -- workers [--rounds N]: what a second inference worker buys a user who clicks
 * while another image is being encoded. For 1 and then 2 workers (the server in its own process,
 * starter model, one onnxruntime thread per worker): an image's embedding is computed first, then
 * for each round a large new upload (a 3000 x 3000 noise PNG (27 MB): decoding and resizing it keeps a
 * worker busy for seconds) is sent to /v1/embeddings while one client clicks on the first image
 * every 50 ms until that encode is done. Prints the clicks' latency during the encodes (median,
 * p95, max), the encode times, and the ratios 1 worker / 2 workers.
 */
import { encodePng, Rng, dermoscopyPhantom, siteProfile } from '@glmedsa/models';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noisePng } from '../test/helpers/noise-png.js';
import { pct, startServerProcess } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');


async function postJson(url: string, body: unknown): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

async function upload(url: string, png: Uint8Array): Promise<string> {
  const r = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
  if (r.status !== 201) throw new Error(`upload answered ${r.status}`);
  return ((await r.json()) as { imageId: string }).imageId;
}

interface Run {
  workers: number;
  clicks: number[];
  encodes: number[];
}

async function measure(workers: number, rounds: number, bigImages: Uint8Array[]): Promise<Run> {
  const { url, child } = await startServerProcess(path.join(REPO, 'models', 'starter'), 'http://127.0.0.1:9/dicom-web', { GLMEDSA_WORKERS: String(workers), GLMEDSA_THREADS: '1' });
  try {
    const small = await upload(url, encodePng(dermoscopyPhantom(new Rng(3), 512, siteProfile('A')).image));
    const click = (dx: number) => postJson(`${url}/v1/segment`, { image: { imageId: small }, points: [{ x: 250 + dx, y: 250, label: 1 }] });
    if ((await click(0)) !== 200) throw new Error('the first click failed');
    for (let i = 0; i < 5; i++) await click(i); // warm
    const clicks: number[] = [];
    const encodes: number[] = [];
    for (const png of bigImages.slice(0, rounds)) {
      // Uploaded just before its encode: ten of them would not fit in the upload store together.
      const imageId = await upload(url, png);
      let done = false;
      const t0 = performance.now();
      const encode = postJson(`${url}/v1/embeddings`, { image: { imageId } })
        .then((status) => {
          if (status !== 200) throw new Error(`the encode answered ${status}`);
          encodes.push(performance.now() - t0);
        })
        .finally(() => (done = true));
      await new Promise((r) => setTimeout(r, 20)); // the encode reaches a worker first
      for (let k = 0; !done; k++) {
        const c0 = performance.now();
        const status = await click(k % 7);
        if (status !== 200) throw new Error(`a click answered ${status}`);
        clicks.push(performance.now() - c0); // sent while the encode was running
        if (done) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await encode;
    }
    return { workers, clicks, encodes };
  } finally {
    child.kill('SIGTERM');
  }
}

export async function workersBench(args: string[]): Promise<void> {
  const at = args.indexOf('--rounds');
  const rounds = at >= 0 ? Number(args[at + 1]) : 6;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds takes an integer 1..20');
  process.stderr.write(`workers: building ${rounds} 3000 x 3000 noise PNG (27 MB)s...\n`);
  const big = Array.from({ length: rounds }, (_, i) => noisePng(3000, 1000 + i));
  const runs: Run[] = [];
  for (const workers of [1, 2]) {
    process.stderr.write(`workers: ${workers} worker(s), ${rounds} encodes with clicks meanwhile...\n`);
    runs.push(await measure(workers, rounds, big));
  }
  const f = (x: number) => x.toFixed(0);
  const lines = ['workers | clicks during encodes | click median ms | click p95 ms | click max ms | encode median ms'];
  for (const r of runs) lines.push(`${r.workers} | ${r.clicks.length} | ${f(pct(r.clicks, 0.5))} | ${f(pct(r.clicks, 0.95))} | ${f(Math.max(...r.clicks))} | ${f(pct(r.encodes, 0.5))}`);
  const [one, two] = runs as [Run, Run];
  lines.push(
    `ratio 1 worker / 2 workers: click median ${(pct(one.clicks, 0.5) / pct(two.clicks, 0.5)).toFixed(1)}x, p95 ${(pct(one.clicks, 0.95) / pct(two.clicks, 0.95)).toFixed(1)}x, encode median ${(pct(one.encodes, 0.5) / pct(two.encodes, 0.5)).toFixed(2)}x`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
