/**
 * HTTP stays at the server's edge: the domain folders (jobs, adapters, the catalogue, the child
 * processes, series and propagation too) never import http/, routes/ or express (they throw domain
 * errors; http/problem.ts alone maps them to statuses). .dependency-cruiser.cjs checks the same, and
 * the rest of the server's folder order, in test/layering.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { DomainError, ERROR_KINDS } from '../../src/errors.js';
import { STATUS_OF_KIND, TITLES, statusOf } from '../../src/http/problem.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');
const DOMAIN = ['inference', 'segmentation', 'images', 'dicom', 'jobs', 'adapters', 'catalog', 'children', 'series', 'propagation'];
const EDGE = [path.join(SRC, 'http'), path.join(SRC, 'routes')];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

test('inference, segmentation, images, dicom, jobs, adapters, catalog, children, series and propagation import nothing of the HTTP layer', () => {
  let checked = 0;
  for (const folder of DOMAIN) {
    for (const file of tsFiles(path.join(SRC, folder))) {
      checked++;
      for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const where = path.relative(SRC, file);
        assert.ok(!/^express(\/|$)/.test(spec), `${where} imports express`);
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        assert.ok(!EDGE.some((edge) => target.startsWith(edge + path.sep)), `${where} imports ${spec} from the HTTP layer`);
      }
    }
  }
  assert.ok(checked > 20, `checked ${checked} files`);
});

test('every kind of domain error has an error status with a title', () => {
  assert.deepEqual(Object.keys(STATUS_OF_KIND).sort(), [...ERROR_KINDS].sort());
  for (const kind of ERROR_KINDS) {
    const status = statusOf(new DomainError(kind, 'x'));
    assert.ok(status >= 400 && status < 600 && TITLES[status], `${kind} -> ${status}`);
  }
});
