/** Plain-text tables for the operator CLI (`--json` prints the data instead). */

/** Left-aligned columns separated by two spaces; `-` for an empty cell. Long cells are cut at `maxWidth`. */
export function table(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>,
  maxWidth = 60,
): string {
  const cells = rows.map((r) =>
    headers.map((_, i) => cut(r[i] === undefined || r[i] === '' ? '-' : String(r[i]), maxWidth)),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** `key  value` lines, keys aligned. */
export function fields(entries: ReadonlyArray<readonly [string, string | number | undefined]>): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${v === undefined || v === '' ? '-' : v}`).join('\n');
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
