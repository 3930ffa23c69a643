/** The extension and mode in OHIF 3.13.2 (see ohif-version-case.ts). */
import { ohifVersionCase } from './ohif-version-case.js';

ohifVersionCase('3.13.2');
