// The CSV this package writes and reads back (to continue or cut a file on resume): one header
// line, one line per epoch, '\n' line ends, cells quoted as Python's csv.QUOTE_MINIMAL does.

/** Keras writes 'NA' for a key an epoch lacks. */
export const MISSING = 'NA';

/** Numbers as Python writes floats (`nan`, `inf`, `-inf`), so pandas and Keras tooling read them back. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return MISSING;
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return String(value);
}

function quote(cell: string, separator: string): string {
  const flat = cell.replace(/[\r\n]+/g, ' ');
  return flat.includes(separator) || flat.includes('"') ? `"${flat.replace(/"/g, '""')}"` : flat;
}

export function formatRow(cells: readonly string[], separator: string): string {
  return `${cells.map((c) => quote(c, separator)).join(separator)}\n`;
}

/** Splits one line written by `formatRow` back into its cells. */
export function parseRow(line: string, separator: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      i += 1;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          cell += '"';
          i += 2;
        } else if (line[i] === '"') {
          i += 1;
          break;
        } else {
          cell += line[i];
          i += 1;
        }
      }
    }
    const next = line.indexOf(separator, i);
    cell += next < 0 ? line.slice(i) : line.slice(i, next);
    cells.push(cell);
    if (next < 0) return cells;
    i = next + separator.length;
  }
}

/** Complete lines of a text file (without their '\n'); a last line without one (a torn write) is dropped. */
export function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // '' after the last '\n', or a torn last line
  return lines;
}
