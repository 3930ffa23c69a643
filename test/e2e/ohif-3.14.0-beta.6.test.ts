/** The extension and mode in OHIF 3.14.0-beta.6 (see ohif-version-case.ts). */
import { ohifVersionCase } from './ohif-version-case.js';

ohifVersionCase('3.14.0-beta.6');
