// CSV for spreadsheets: RFC 4180 (comma separated, CRLF line ends, a field quoted when it holds a comma, a quote
// or a line break, quotes doubled), and safe against formula injection: a text cell that a spreadsheet would
// run as a formula (starting with =, +, -, @, tab or CR) gets a leading apostrophe. Numbers are written as is.

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
