// Writes plain data (objects, arrays, strings, numbers, booleans, null) as block-style YAML for configuration
// files people read and edit (Grafana provisioning). Every string is written double-quoted in JSON spelling,
// which YAML reads the same way, so no value can turn into a number, a boolean or a comment by accident.
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const key = (k: string) => (PLAIN_KEY.test(k) ? k : JSON.stringify(k));

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`yaml: cannot write ${v}`);
    return String(v);
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const isEmpty = (v: YamlValue) =>
  Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0;

function lines(v: YamlValue, indent: string): string[] {
  if (Array.isArray(v))
    return v.flatMap((item) => {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const [first = '', ...rest] = lines(item, `${indent}  `);
        return [`${indent}- ${first.trimStart()}`, ...rest];
      }
      return [`${indent}- ${inline(item)}`];
    });
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, item]) =>
      item !== null && typeof item === 'object' && !isEmpty(item)
        ? [`${indent}${key(k)}:`, ...lines(item, `${indent}  `)]
        : [`${indent}${key(k)}: ${inline(item)}`],
    );
  return [`${indent}${scalar(v)}`];
}

function inline(v: YamlValue): string {
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return scalar(v);
}

/** The document for `value` (an object at the top), ending with a newline; `header` lines become comments. */
export function toYaml(value: { [key: string]: YamlValue }, header: readonly string[] = []): string {
  return [...header.map((h) => `# ${h}`.trimEnd()), ...lines(value, '')].join('\n') + '\n';
}
