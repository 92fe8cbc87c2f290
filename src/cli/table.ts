/**
 * Aligned text tables for human output: columns padded to their widest cell, two spaces
 * apart, no trailing spaces.
 *
 * @example
 * ```ts
 * table(['NODE', 'STATE'], [['n1', 'up'], ['n10', 'down']]);
 * // 'NODE  STATE\nn1    up\nn10   down\n'
 * ```
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}
