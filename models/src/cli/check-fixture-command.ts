/** glmedsa check-fixture: parity of our graphs against a fixture made with the official SAM code. */
import { parseArgs } from 'node:util';
import { checkFixture } from '../fixture/check-fixture.js';
import { TOLERANCES } from '../fixture/fixture-format.js';
import { UsageError, parseChoice } from './args.js';

export const checkFixtureHelp = `glmedsa check-fixture DIR [--json] [--weights safetensors|pth]

Runs a parity fixture folder (fixture.json, weights, io.safetensors[, grad.safetensors]) and
reports every error against the tolerances of the fixture README. Exit status 0 only if all hold.`;

const fmt = (x: number | null) => (x === null ? 'n/a' : x.toExponential(2));

/** Returns the process exit code. */
export async function checkFixtureCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, weights: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('check-fixture takes one fixture folder');
  const weights = values.weights ? parseChoice(values.weights, '--weights', ['safetensors', 'pth'] as const, 'safetensors') : undefined;
  const { report, failures, config } = await checkFixture(positionals[0]!, weights ? { weights } : {});
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const lines = [
      `fixture ${positionals[0]} (${config.variant}, embed_dim ${config.embed_dim}, depth ${config.depth}, img_size ${config.img_size})`,
      `  image embeddings      max abs ${fmt(report.embeddings_max_abs)}  (<= ${TOLERANCES.embeddings})`,
    ];
    for (const [name, c] of Object.entries(report.cases)) {
      lines.push(
        `  ${name.padEnd(20)}  low-res ${fmt(c.low_res_max_abs)}  iou ${fmt(c.iou_max_abs)}  sign agreement ${(c.mask_sign_agreement * 100).toFixed(3)}%`,
      );
    }
    lines.push(`  gradients             max rel ${fmt(report.grad_max_rel)}`);
    lines.push(report.pass ? 'PASS: every tolerance holds' : `FAIL:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.pass ? 0 : 1;
}
