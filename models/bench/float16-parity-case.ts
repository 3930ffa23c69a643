/**
 * Float16 parity on the shipped fixtures, on one device, in its own process; prints one JSON line
 * ({ "threshold", "fixtures": { name: report } }).  node float16-parity-case.js cuda|cpu
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOAT16_MASK_SIGN_AGREEMENT, checkFloat16Parity } from '../src/fixture/float16-parity.js';

const device = process.argv[2] === 'cpu' ? 'cpu' : 'cuda';
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'parity');
const reports: Record<string, Awaited<ReturnType<typeof checkFloat16Parity>>> = {};
for (const name of ['sam_tiny', 'glmedsa_tiny']) reports[name] = await checkFloat16Parity(path.join(fixtures, name), { device });
process.stdout.write(`${JSON.stringify({ threshold: FLOAT16_MASK_SIGN_AGREEMENT, fixtures: reports })}\n`);
