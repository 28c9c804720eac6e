// Build step after tsc: copies the files that are not TypeScript (the dashboard's page, script and stylesheet) from
// src/ to the same place under dist/, where the compiled code reads them.
'use strict';
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const folders = ['http/dashboard/public'];

for (const folder of folders) {
  cpSync(join(root, 'src', folder), join(root, 'dist', folder), { recursive: true });
}
