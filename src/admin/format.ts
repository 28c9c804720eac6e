// Plain-text tables and durations for the admin CLI. Registry data comes from clients: control characters are
// replaced before anything reaches the terminal (no escape sequences from instance ids or metadata).

/** A column: header, and right alignment for numbers. */
export interface Column {
  readonly header: string;
  readonly right?: boolean;
}

// C0 and C1 control characters, DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text safe to print on a terminal. */
export function clean(value: unknown): string {
  return String(value ?? '').replace(CONTROL, '\uFFFD');
}

/** Columns padded to their widest cell, two spaces apart, header first; no trailing spaces. */
export function table(columns: readonly Column[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => columns.map((_, i) => clean(r[i])));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => [...r[i]].length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => {
        const pad = ' '.repeat(widths[i] - [...v].length);
        return columns[i].right ? pad + v : v + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** 850 ms, 12 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function duration(ms: number): string {
  const neg = ms < 0;
  const a = Math.abs(ms);
  let out: string;
  if (a < 1000) out = `${Math.round(a)} ms`;
  else if (a < 60_000) out = `${Math.round(a / 1000)} s`;
  else if (a < 3_600_000) out = `${Math.floor(a / 60_000)} min ${Math.floor((a % 60_000) / 1000)} s`;
  else if (a < 86_400_000) out = `${Math.floor(a / 3_600_000)} h ${Math.floor((a % 3_600_000) / 60_000)} min`;
  else out = `${Math.floor(a / 86_400_000)} d ${Math.floor((a % 86_400_000) / 3_600_000)} h`;
  return neg ? `-${out}` : out;
}

/** "12 s ago", or "never" for 0 / missing. */
export function ago(timestamp: number | null | undefined, now: number): string {
  return timestamp ? `${duration(now - timestamp)} ago` : 'never';
}
