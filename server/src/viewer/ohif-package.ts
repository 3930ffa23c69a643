/**
 * The viewers this server ships and is tested with: the prebuilt OHIF app, each version pinned by
 * its tarball's integrity, unpacked into our own data folder; and where our run-time modules live.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const OHIF_PACKAGE = '@ohif/app';

/**
 * The OHIF versions the extension and mode are proven in (test/e2e/ohif-*.test.ts), each with the
 * sha512 of `npm pack @ohif/app@<version>` (the registry's `dist.integrity`).
 */
export const OHIF_RELEASES = {
  '3.12.10': 'sha512-0kuF66Mq9c9dMD++bUsTjMrJpXJwaZhz9B4uS244DawAjSkTwIYFU93pxPuRUQixaRi7QAHlF3Fe1qudBlZrmA==',
  '3.13.2': 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==',
  '3.14.0-beta.6': 'sha512-QwA0talqhh4VlUR+QgT2t8FP7NpX++4s6Z9Cp5VIcta3JMd2zGBPTp/R9t7JaX0Xi1AHAZAJxTv502R+SawaBg==',
} as const;

export type OhifVersion = keyof typeof OHIF_RELEASES;

export function isOhifVersion(v: string): v is OhifVersion {
  return Object.hasOwn(OHIF_RELEASES, v);
}

/** The version served by default (npm start, the tests). */
export const OHIF_VERSION: OhifVersion = '3.13.2';

/** The repository root (this module runs compiled, from server/dist/src/viewer/). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Our own data folder for the unpacked viewers: the only place the set-up ever writes. */
const OHIF_DATA_DIR = path.join(REPO_ROOT, '.data', 'ohif');

/** Where a pinned version's dist is unpacked. */
export function ohifDirFor(version: OhifVersion): string {
  return path.join(OHIF_DATA_DIR, version);
}

/** Where the default version's dist is unpacked (served unless `viewer.ohifDir` names another). */
export const DEFAULT_OHIF_DIR = ohifDirFor(OHIF_VERSION);

/** Where webpack writes our extension and mode modules. */
export const DEFAULT_EXT_DIR = path.join(REPO_ROOT, 'dist', 'ext');

/** The URLs the viewer imports our modules from (webpack.config.js names the files). */
export const EXTENSION_MODULE = '/ext/glmedsa-extension.mjs';
export const MODE_MODULE = '/ext/glmedsa-mode.mjs';

/** A marker written into the unpacked dist: which tarball it came from. */
export const INTEGRITY_MARKER = '.glmedsa-integrity';
