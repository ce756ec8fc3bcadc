// The SQL that Grafana's PostgreSQL data source runs for the m3w dashboard (`m3w grafana export`): QoE figures
// read from the rollup tables (qoe_minutes, qoe_hours), never from raw sessions, derived the way the read API
// derives them (engine/qoe-metrics.ts), so a panel and /api/v1/qoe/summary agree on the same period.
//
// Grafana fills in, before the query reaches Postgres:
//   $__unixEpochFrom() / $__unixEpochTo()  the dashboard's range as epoch seconds (m3w's columns are epoch ms,
//                                          so $__timeFilter, which compares with a timestamp, does not apply);
//   $__interval_ms                         the panel's point spacing in ms (panels set a 1-minute minimum);
//   ${app}                                 the dashboard's app variable.

/** The rollup figures a panel reads, in the tables' column names. */
const FIGURES =
  'sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, play_sum, bitrate_sum, bitrate_count, startup_hist';

/** Bucket i ≥ 1 of the startup histogram stands for 1.1^(i − 0.5) ms, bucket 0 for 0 ms (tools/startup-histogram.ts). */
const BUCKET_VALUE = (bin: string) => `CASE WHEN ${bin} = 0 THEN 0 ELSE power(1.1, ${bin} - 0.5) END`;
const STARTUP_BUCKETS = 160;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The SQL for each panel of the dashboard; `schema` is m3w's Postgres schema, `app` the SQL text of the app id. */
export function grafanaPanelSql(schema: string, app = `'\${app}'`) {
  const minutes = `${ident(schema)}.qoe_minutes`;
  const hours = `${ident(schema)}.qoe_hours`;
  const where = `app_id = ${app} AND dimension = 'global'`;

  /**
   * The rows of the period, as /api/v1/qoe/summary adds them: from taken down and to up to whole minutes,
   * hourly rows for the whole hours inside, minute rows for the ragged edges (or all of it, under two hours'
   * boundaries).
   */
  const period = `WITH bounds AS (
  SELECT a, b, ceil(a / 3600000.0)::bigint * 3600000 AS h1, floor(b / 3600000.0)::bigint * 3600000 AS h2
  FROM (SELECT floor($__unixEpochFrom() / 60.0)::bigint * 60000 AS a,
               ceil($__unixEpochTo() / 60.0)::bigint * 60000 AS b) range
), period AS (
  SELECT ${FIGURES} FROM ${hours}, bounds
  WHERE ${where} AND h1 < h2 AND hour >= h1 AND hour < h2
  UNION ALL
  SELECT ${FIGURES} FROM ${minutes}, bounds
  WHERE ${where} AND minute >= a AND minute < b AND (h1 >= h2 OR minute < h1 OR minute >= h2)
)`;

  /**
   * Rows of the panel's range at the finest table its spacing allows (minutes under an hour, else hours),
   * each with `t` (its bucket start, epoch ms) and `s` (the spacing): the start is taken down to the table's
   * step, as /api/v1/qoe/timeseries does.
   */
  const series = `WITH spacing AS (
  SELECT s, CASE WHEN s < 3600000 THEN 60000 ELSE 3600000 END AS g,
         $__unixEpochFrom()::bigint * 1000 AS a, $__unixEpochTo()::bigint * 1000 AS b
  FROM (SELECT greatest($__interval_ms, 60000)::bigint AS s) step
), bucketed AS (
  SELECT floor(minute / s::numeric)::bigint * s AS t, ${FIGURES} FROM ${minutes}, spacing
  WHERE ${where} AND g = 60000 AND minute >= floor(a / 60000.0)::bigint * 60000 AND minute < b
  UNION ALL
  SELECT floor(hour / s::numeric)::bigint * s AS t, ${FIGURES} FROM ${hours}, spacing
  WHERE ${where} AND g = 3600000 AND hour >= floor(a / 3600000.0)::bigint * 3600000 AND hour < b
)`;
  const time = 'to_timestamp(t / 1000.0) AS "time"';

  /**
   * The nearest-rank quantile q of the merged histograms, per `group` (none: one row), as histogramQuantile
   * does: the first bucket where the running count reaches ceil(q × total), read as its bucket's value.
   */
  const quantile = (from: string, q: number, group: string | null) => {
    const by = group === null ? '' : `${group}, `;
    const part = group === null ? '' : `PARTITION BY ${group} `;
    return `, bins AS (
  SELECT ${by}r.startup_hist[i] AS bin, sum(r.startup_hist[i + 1]) AS n
  FROM ${from} r CROSS JOIN LATERAL generate_subscripts(r.startup_hist, 1) AS i
  WHERE i % 2 = 1 AND r.startup_hist[i] BETWEEN 0 AND ${STARTUP_BUCKETS - 1}
  GROUP BY ${by}bin
), ranked AS (
  SELECT ${by}bin, sum(n) OVER (${part}ORDER BY bin) AS seen, sum(n) OVER (${part.trimEnd()}) AS total FROM bins
), picked AS (
  SELECT ${by}min(bin) AS bin FROM ranked WHERE seen >= greatest(1, ceil(${q} * total))${group === null ? '' : ` GROUP BY ${group}`}
)`;
  };

  return {
    stat: {
      sessions: `${period}\nSELECT coalesce(sum(sessions), 0) AS "Sessions" FROM period`,
      startupMeanMs: `${period}\nSELECT sum(startup_sum) / nullif(sum(startup_count), 0) AS "Startup (mean)" FROM period`,
      startupP95Ms: `${period}${quantile('period', 0.95, null)}\nSELECT ${BUCKET_VALUE('max(bin)')} AS "Startup (p95)" FROM picked`,
      playbackFailurePct: `${period}\nSELECT 100.0 * sum(sessions_with_errors) / nullif(sum(sessions), 0) AS "Playback failures" FROM period`,
      rebufferPct: `${period}\nSELECT 100.0 * sum(rebuffer_sum) / nullif(sum(play_sum) + sum(rebuffer_sum), 0) AS "Rebuffering" FROM period`,
      rebufferSeconds: `${period}\nSELECT sum(rebuffer_sum) / 1000.0 AS "Time rebuffering" FROM period`,
      bitrateMeanBps: `${period}\nSELECT sum(bitrate_sum) / nullif(sum(bitrate_count), 0) AS "Bitrate (mean)" FROM period`,
    },
    series: {
      sessions: `${series}\nSELECT ${time}, sum(sessions) AS "Sessions" FROM bucketed GROUP BY t ORDER BY t`,
      startupMs: `${series}${quantile('bucketed', 0.95, 't')}
SELECT ${time}, mean AS "Startup (mean)", ${BUCKET_VALUE('bin')} AS "Startup (p95)"
FROM (SELECT t, sum(startup_sum) / nullif(sum(startup_count), 0) AS mean FROM bucketed GROUP BY t) means
LEFT JOIN picked USING (t) ORDER BY t`,
      failureAndRebufferPct: `${series}
SELECT ${time}, 100.0 * sum(sessions_with_errors) / nullif(sum(sessions), 0) AS "Playback failures",
  100.0 * sum(rebuffer_sum) / nullif(sum(play_sum) + sum(rebuffer_sum), 0) AS "Rebuffering"
FROM bucketed GROUP BY t ORDER BY t`,
      bitrateMeanBps: `${series}
SELECT ${time}, sum(bitrate_sum) / nullif(sum(bitrate_count), 0) AS "Bitrate (mean)" FROM bucketed GROUP BY t ORDER BY t`,
    },
    /** The dashboard's app variable: every app m3w knows. */
    apps: `SELECT id FROM ${ident(schema)}.apps ORDER BY id`,
  };
}

export type GrafanaPanelSql = ReturnType<typeof grafanaPanelSql>;
