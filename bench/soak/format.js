'use strict';
// Number formats of the soak's report and progress lines.
const { MB } = require('./config');

const fmtMs = (v) => (v === undefined || Number.isNaN(v) ? '–' : v === Infinity ? '∞' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtMB = (bytes) => (Number.isNaN(bytes) ? '–' : `${(bytes / MB).toFixed(0)} MB`);

function medianOf(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : NaN;
}

module.exports = { fmtMs, fmtMB, medianOf };
