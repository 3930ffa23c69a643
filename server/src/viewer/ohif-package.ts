/**
 * The viewer this server ships: the prebuilt OHIF app, pinned by version and tarball integrity,
 * and where its unpacked dist and our own run-time modules live by default.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const OHIF_PACKAGE = '@ohif/app';
export const OHIF_VERSION = '3.13.2';
/** The sha512 of `npm pack @ohif/app@3.13.2` (the registry's `dist.integrity`). */
export const OHIF_INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

/** The repository root (this module runs compiled, from server/dist/src/viewer/). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Where `npm run setup:viewer` unpacks the OHIF dist by default. */
export const DEFAULT_OHIF_DIR = path.join(REPO_ROOT, '.data', 'ohif', OHIF_VERSION);

/** Where webpack writes our extension and mode modules. */
export const DEFAULT_EXT_DIR = path.join(REPO_ROOT, 'dist', 'ext');

/** The URLs the viewer imports our modules from (webpack.config.js names the files). */
export const EXTENSION_MODULE = '/ext/glmedsa-extension.mjs';
export const MODE_MODULE = '/ext/glmedsa-mode.mjs';

/** A marker written into the unpacked dist: which tarball it came from. */
export const INTEGRITY_MARKER = '.glmedsa-integrity';
