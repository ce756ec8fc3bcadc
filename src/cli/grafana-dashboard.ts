// The Grafana provisioning m3w writes (`m3w grafana export`): a data source, a dashboard provider and the QoE
// dashboard, for Postgres (Grafana's PostgreSQL data source over the rollup tables) or for SQLite (the read API
// through the Infinity data source). Pure: the files' contents from what the caller resolved.
import { grafanaPanelSql } from '../store/index.ts';
import type { YamlValue } from '../tools/yaml-emit.ts';

export const DASHBOARD_UID = 'm3w-qoe';
export const POSTGRES_DATASOURCE = { type: 'grafana-postgresql-datasource', uid: 'm3w-postgres' } as const;
export const INFINITY_DATASOURCE = { type: 'yesoreyeram-infinity-datasource', uid: 'm3w-api' } as const;
/** Grafana's environment variables the data sources read their secret from, unless one was given. */
export const DB_PASSWORD_ENV = 'M3W_GRAFANA_DB_PASSWORD';
export const READ_KEY_ENV = 'M3W_GRAFANA_READ_KEY';

type Json = { [key: string]: YamlValue };
type Datasource = typeof POSTGRES_DATASOURCE | typeof INFINITY_DATASOURCE;

export interface PostgresTarget {
  /** host:port */
  host: string;
  database: string;
  user: string;
  schema: string;
  sslmode: string;
}

export interface InfinityTarget {
  /** Where Grafana reaches m3w, e.g. http://m3w.lan:8080 */
  baseUrl: string;
  /** The read key to write in the clear, or null for an environment placeholder. */
  key: string | null;
}

export interface Provisioning {
  datasource: Json;
  provider: Json;
  dashboard: Json;
}

const STAT_PANELS = [
  { id: 'sessions', title: 'Sessions', unit: 'short', decimals: 0 },
  { id: 'startupMeanMs', title: 'Startup (mean)', unit: 'ms', decimals: 0 },
  { id: 'startupP95Ms', title: 'Startup (p95)', unit: 'ms', decimals: 0 },
  { id: 'playbackFailurePct', title: 'Playback failures', unit: 'percent', decimals: 2 },
  { id: 'rebufferPct', title: 'Rebuffering (share of watch time)', unit: 'percent', decimals: 2 },
  { id: 'rebufferSeconds', title: 'Time rebuffering', unit: 's', decimals: 0 },
  { id: 'bitrateMeanBps', title: 'Bitrate (mean per session)', unit: 'bps', decimals: 0 },
] as const;
type StatId = (typeof STAT_PANELS)[number]['id'];

const SERIES_PANELS = [
  { id: 'sessions', title: 'Sessions over time', unit: 'short', draw: 'bars' },
  { id: 'startupMs', title: 'Startup time', unit: 'ms', draw: 'line' },
  { id: 'failureAndRebufferPct', title: 'Playback failures and rebuffering', unit: 'percent', draw: 'line' },
  { id: 'bitrateMeanBps', title: 'Bitrate (mean per session)', unit: 'bps', draw: 'line' },
] as const;
type SeriesId = (typeof SERIES_PANELS)[number]['id'];

function statPanel(
  id: number,
  p: (typeof STAT_PANELS)[number],
  x: number,
  w: number,
  ds: Datasource,
  targets: Json[],
): Json {
  return {
    id,
    type: 'stat',
    title: p.title,
    datasource: { ...ds },
    gridPos: { h: 4, w, x, y: 0 },
    interval: '1m',
    fieldConfig: { defaults: { unit: p.unit, decimals: p.decimals, noValue: '–' }, overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'none',
      graphMode: 'none',
      textMode: 'value',
      justifyMode: 'auto',
    },
    targets,
  };
}

function seriesPanel(id: number, p: (typeof SERIES_PANELS)[number], i: number, ds: Datasource, targets: Json[]): Json {
  return {
    id,
    type: 'timeseries',
    title: p.title,
    datasource: { ...ds },
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: 4 + Math.floor(i / 2) * 8 },
    interval: '1m',
    fieldConfig: {
      defaults: {
        unit: p.unit,
        custom: { drawStyle: p.draw, fillOpacity: p.draw === 'bars' ? 80 : 10, spanNulls: false },
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets,
  };
}

function dashboard(title: string, ds: Datasource, panels: Json[], templating: Json[]): Json {
  return {
    uid: DASHBOARD_UID,
    title,
    tags: ['m3w', 'qoe'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    annotations: { list: [] },
    templating: { list: templating },
    description: `QoE of SDK sessions from m3w's rollups (data source ${ds.uid}). Written by m3w grafana export.`,
    panels,
  };
}

/** Where Grafana finds the dashboard file: the standard provisioning folder, unless told otherwise. */
function provider(dashboardsPath: string): Json {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'm3w',
        folder: 'm3w',
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: true,
        updateIntervalSeconds: 60,
        options: { path: dashboardsPath, foldersFromFilesStructure: false },
      },
    ],
  };
}

/** Postgres: Grafana's built-in PostgreSQL data source, panels in SQL over qoe_minutes and qoe_hours. */
export function postgresProvisioning(pgTarget: PostgresTarget, dashboardsPath: string): Provisioning {
  const ds = POSTGRES_DATASOURCE;
  const sql = grafanaPanelSql(pgTarget.schema);
  const target = (rawSql: string, format: 'table' | 'time_series'): Json => ({
    refId: 'A',
    datasource: { ...ds },
    editorMode: 'code',
    rawQuery: true,
    format,
    rawSql,
  });
  const widths = [3, 3, 3, 4, 4, 3, 4];
  let x = 0;
  const panels: Json[] = STAT_PANELS.map((p, i) => {
    const panel = statPanel(i + 1, p, x, widths[i]!, ds, [target(sql.stat[p.id as StatId], 'table')]);
    x += widths[i]!;
    return panel;
  });
  for (const [i, p] of SERIES_PANELS.entries())
    panels.push(seriesPanel(20 + i, p, i, ds, [target(sql.series[p.id as SeriesId], 'time_series')]));
  const app: Json = {
    name: 'app',
    label: 'App',
    type: 'query',
    datasource: { ...ds },
    query: sql.apps,
    definition: sql.apps,
    refresh: 1,
    current: { text: 'default', value: 'default' },
    includeAll: false,
    multi: false,
    sort: 1,
  };
  return {
    datasource: {
      apiVersion: 1,
      datasources: [
        {
          name: 'm3w (Postgres)',
          type: ds.type,
          uid: ds.uid,
          access: 'proxy',
          url: pgTarget.host,
          user: pgTarget.user,
          editable: true,
          jsonData: {
            database: pgTarget.database,
            sslmode: pgTarget.sslmode,
            postgresVersion: 1500,
            timescaledb: false,
            maxOpenConns: 5,
          },
          // Grafana fills in ${NAME} from its own environment when it reads this file.
          secureJsonData: { password: `\${${DB_PASSWORD_ENV}}` },
        },
      ],
    },
    provider: provider(dashboardsPath),
    dashboard: dashboard('m3w QoE', ds, panels, [app]),
  };
}

/** The read API routes the Infinity panels call, with the fields each reads: what the export test checks. */
const SUMMARY_FIELDS: Record<Exclude<StatId, 'rebufferSeconds'>, string> = {
  sessions: 'sessions',
  startupMeanMs: 'startup_mean_ms',
  startupP95Ms: 'startup_p95_ms',
  playbackFailurePct: 'playback_failure_pct',
  rebufferPct: 'rebuffer_pct',
  bitrateMeanBps: 'bitrate_mean_bps',
};
const SERIES_METRICS: Record<SeriesId, Array<[metric: string, label: string]>> = {
  sessions: [['sessions', 'Sessions']],
  startupMs: [
    ['startup_mean_ms', 'Startup (mean)'],
    ['startup_p95_ms', 'Startup (p95)'],
  ],
  failureAndRebufferPct: [
    ['playback_failure_pct', 'Playback failures'],
    ['rebuffer_pct', 'Rebuffering'],
  ],
  bitrateMeanBps: [['bitrate_mean_bps', 'Bitrate (mean)']],
};

/** SQLite: the read API through the Infinity data source, authenticated by a read key in X-API-Key. */
export function infinityProvisioning(api: InfinityTarget, dashboardsPath: string): Provisioning {
  const ds = INFINITY_DATASOURCE;
  const range = [
    { key: 'from', value: `\${__from}` },
    { key: 'to', value: `\${__to}` },
  ];
  const target = (refId: string, path: string, params: Json[], rootSelector: string, columns: Json[]): Json => ({
    refId,
    datasource: { ...ds },
    type: 'json',
    source: 'url',
    parser: 'backend',
    format: rootSelector === 'points' ? 'timeseries' : 'table',
    url: path,
    url_options: { method: 'GET', data: '', params },
    root_selector: rootSelector,
    columns,
    filters: [],
  });
  // The API has no total rebuffering time (it gives the share), so that tile is Postgres-only.
  const stats = STAT_PANELS.filter((p) => p.id !== 'rebufferSeconds');
  const width = 24 / stats.length;
  const panels: Json[] = stats.map((p, i) =>
    statPanel(i + 1, p, i * width, width, ds, [
      target('A', '/api/v1/qoe/summary', range, 'current', [
        { selector: SUMMARY_FIELDS[p.id as keyof typeof SUMMARY_FIELDS], text: p.title, type: 'number' },
      ]),
    ]),
  );
  for (const [i, p] of SERIES_PANELS.entries()) {
    const targets = SERIES_METRICS[p.id].map(([metric, label], j) =>
      target(
        String.fromCharCode(65 + j),
        '/api/v1/qoe/timeseries',
        [...range, { key: 'metric', value: metric }],
        'points',
        [
          { selector: 't', text: 'Time', type: 'timestamp_epoch' },
          { selector: 'value', text: label, type: 'number' },
        ],
      ),
    );
    panels.push(seriesPanel(20 + i, p, i, ds, targets));
  }
  const base = api.baseUrl.replace(/\/+$/, '');
  return {
    datasource: {
      apiVersion: 1,
      datasources: [
        {
          name: 'm3w (read API)',
          type: ds.type,
          uid: ds.uid,
          access: 'proxy',
          // Panels name paths (/api/v1/…); Infinity puts this in front, and calls no other host.
          url: base,
          editable: true,
          jsonData: { allowedHosts: [base], httpHeaderName1: 'X-API-Key', timeoutInSeconds: 30 },
          secureJsonData: { httpHeaderValue1: api.key ?? `\${${READ_KEY_ENV}}` },
        },
      ],
    },
    provider: provider(dashboardsPath),
    dashboard: dashboard('m3w QoE', ds, panels, []),
  };
}
