import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFixture } from '../../src/fixture/check-fixture.js';
import { TOLERANCES } from '../../src/fixture/fixture-format.js';
import { fixtureDir } from '../helpers/paths.js';

for (const name of ['sam_tiny', 'glmedsa_tiny'] as const) {
  describe(`parity with the official SAM code: ${name}`, () => {
    for (const weights of ['safetensors', 'pth'] as const) {
      test(`every tolerance holds with weights from ${weights}`, async () => {
        const { report, failures } = await checkFixture(fixtureDir(name), { weights });
        assert.deepEqual(failures, []);
        assert.ok(report.embeddings_max_abs <= TOLERANCES.embeddings, `embeddings ${report.embeddings_max_abs}`);
        assert.equal(Object.keys(report.cases).length, 6);
        for (const [c, r] of Object.entries(report.cases)) {
          assert.ok(r.low_res_max_abs <= TOLERANCES.lowRes, `${c} low-res ${r.low_res_max_abs}`);
          assert.ok(r.iou_max_abs <= TOLERANCES.iou, `${c} iou ${r.iou_max_abs}`);
          assert.ok(r.mask_sign_agreement >= TOLERANCES.maskSignAgreement, `${c} agreement ${r.mask_sign_agreement}`);
        }
        assert.equal(report.pass, true);
      });
    }
  });
}

describe('gradient parity (grad.safetensors)', () => {
  test('the fused train step reproduces the fixture loss and every gradient', async () => {
    const { report, failures } = await checkFixture(fixtureDir('glmedsa_tiny'));
    assert.deepEqual(failures, []);
    assert.ok(report.grad_max_rel !== null && report.grad_max_rel <= TOLERANCES.gradRelative, `grad_max_rel ${report.grad_max_rel}`);
  });
  test('fixtures without gradients report null', async () => {
    const { report } = await checkFixture(fixtureDir('sam_tiny'));
    assert.equal(report.grad_max_rel, null);
  });
});
