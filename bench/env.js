// Reading the bench scripts' settings from the environment.

/** A non-negative number from environment variable `name`, or `def` when it is unset or empty; throws on anything else. */
function num(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

module.exports = { num };
