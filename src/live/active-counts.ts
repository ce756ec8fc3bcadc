// The live tracker's counts, which the API and the live feed send as they are (their wire schema, which the
// dashboard imports, is ActiveCounts in src/wire/analytics.ts; the route checks this type against it).
/** The GET /stats/active answer: counts of open sessions, in total and per value of each dimension. */
export interface ActiveCounts {
  total: number;
  by_server: Record<string, number>;
  by_channel: Record<string, number>;
  by_country: Record<string, number>;
  by_protocol: Record<string, number>;
  by_device: Record<string, number>;
}
