/**
 * npm run bench -- synth: how long the phantom generators take per image (they feed training and
 * the tests, so a slow one makes every run slow). Budget: a 256 px dermoscopy phantom in 50 ms.
 */
import { Rng, ctPhantom, dermoscopyPhantom, siteProfile } from '../src/index.js';
import { median, percentile, table, timeRuns } from './stats.js';

const BUDGET_MS = 50;

export async function synthBench(args: string[]): Promise<void> {
  const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
  const rows: (string | number)[][] = [['generator', 'size', 'median ms', 'p95 ms', 'budget ratio']];
  for (const size of [256, 512]) {
    let seed = 0;
    const derm = await timeRuns(runs, async () => dermoscopyPhantom(new Rng(seed++), size, siteProfile('B')));
    const ratio = size === 256 ? (median(derm) / BUDGET_MS).toFixed(2) : '';
    rows.push(['dermoscopy', size, median(derm).toFixed(1), percentile(derm, 0.95).toFixed(1), ratio]);
    const ct = await timeRuns(runs, async () => ctPhantom(new Rng(seed++), size, siteProfile('B')));
    rows.push(['ct', size, median(ct).toFixed(1), percentile(ct, 0.95).toFixed(1), '']);
  }
  process.stdout.write(`phantom generation, ${runs} runs each (budget ratio = median / ${BUDGET_MS} ms)\n${table(rows)}\n`);
}
