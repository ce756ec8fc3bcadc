// Grafana's query macros and variables, filled in as Grafana does before a query reaches its data source, for
// a fixed time range: what lets a test run a generated dashboard's queries without Grafana. Follows the
// PostgreSQL data source's macro engine (pkg/tsdb/grafana-postgresql-datasource/macros.go) and the global
// variables of https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/:
//   $__timeFilter(col)     col BETWEEN '<from, RFC 3339>' AND '<to, RFC 3339>'
//   $__timeFrom()          '<from, RFC 3339>'          $__timeTo()  likewise
//   $__unixEpochFrom()     from in whole epoch seconds  $__unixEpochTo()  likewise
//   $__unixEpochFilter(c)  c >= <from s> AND c <= <to s>
//   $__interval_ms         the panel's interval in ms   $__interval  the same as 1m, 1h, 30s…
//   ${__from} / ${__to}    the range in epoch ms (URLs, any data source)
//   $name / ${name}        a dashboard variable's current value
// Anything else that looks like a macro ($__…) is an error, so a dashboard cannot pass with a macro left in.

export interface GrafanaRange {
  from: number;
  to: number;
  intervalMs: number;
  vars?: Record<string, string>;
}

const rfc3339 = (ms: number) => `'${new Date(ms).toISOString()}'`;
const seconds = (ms: number) => String(Math.floor(ms / 1000));

function intervalText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Dashboard and global variables, as in any query text or URL. */
export function expandGrafanaVariables(text: string, r: GrafanaRange): string {
  const vars: Record<string, string> = {
    __from: String(r.from),
    __to: String(r.to),
    __interval_ms: String(r.intervalMs),
    __interval: intervalText(r.intervalMs),
    ...r.vars,
  };
  const lookup = (name: string, whole: string) => (name in vars ? vars[name]! : whole);
  return text
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => lookup(name, whole))
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_(])/g, (whole, name: string) => lookup(name, whole));
}

/** An SQL query of the PostgreSQL data source, macros first, then variables (Grafana's order). */
export function expandGrafanaSql(sql: string, r: GrafanaRange): string {
  const macros: Record<string, (arg: string) => string> = {
    __timeFilter: (col) => `${col} BETWEEN ${rfc3339(r.from)} AND ${rfc3339(r.to)}`,
    __timeFrom: () => rfc3339(r.from),
    __timeTo: () => rfc3339(r.to),
    __unixEpochFrom: () => seconds(r.from),
    __unixEpochTo: () => seconds(r.to),
    __unixEpochFilter: (col) => `${col} >= ${seconds(r.from)} AND ${col} <= ${seconds(r.to)}`,
  };
  const expanded = sql.replace(/\$(__[A-Za-z]+)\(([^)]*)\)/g, (whole, name: string, arg: string) => {
    const m = macros[name];
    if (!m) throw new Error(`unknown Grafana macro ${whole}`);
    return m(arg.trim());
  });
  const out = expandGrafanaVariables(expanded, r);
  const left = out.match(/\$\{?[A-Za-z_][A-Za-z0-9_]*/);
  if (left) throw new Error(`Grafana would leave ${left[0]} unexpanded in: ${out}`);
  return out;
}
