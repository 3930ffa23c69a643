import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLOAT16_MASK_SIGN_AGREEMENT, checkFloat16Parity } from '../../src/fixture/float16-parity.js';
import { fixtureDir } from '../helpers/paths.js';

// onnxruntime-node's CPU provider runs the float16 graphs (it computes the ops it has no float16
// kernel for in float32 between float16 tensors), so the parity bar is checked here as well as
// on CUDA in `npm run bench -- gpu`.
for (const name of ['sam_tiny', 'glmedsa_tiny'] as const) {
  describe(`float16 parity: ${name}`, () => {
    test(`masks of the float16 model agree in sign with the float32 model on >= ${FLOAT16_MASK_SIGN_AGREEMENT * 100}% of pixels`, async () => {
      const report = await checkFloat16Parity(fixtureDir(name), { device: 'cpu' });
      assert.equal(report.provider, 'cpu');
      assert.equal(Object.keys(report.cases).length, 6);
      for (const [c, r] of Object.entries(report.cases)) {
        assert.ok(r.mask_sign_agreement >= FLOAT16_MASK_SIGN_AGREEMENT, `${c}: ${r.mask_sign_agreement}`);
      }
      assert.ok(report.embeddings_max_abs > 0, 'the float16 encoder rounds');
      assert.ok(report.embeddings_max_abs < 1e-2 * report.embeddings_max, `embeddings differ by up to ${report.embeddings_max_abs}`);
    });
  });
}
