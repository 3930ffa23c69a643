/** The extension's id and the ids of what it registers, as OHIF names them (`<extension>.<module>.<name>`). */
export const EXTENSION_ID = '@glmedsa/ohif-extension';
export const PANEL_NAME = 'glmedsa';
export const ADMIN_PANEL_NAME = 'glmedsa-admin';
