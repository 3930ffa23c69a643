/** The extension and mode in OHIF 3.12.10 (see ohif-version-case.ts). */
import { ohifVersionCase } from './ohif-version-case.js';

ohifVersionCase('3.12.10');
