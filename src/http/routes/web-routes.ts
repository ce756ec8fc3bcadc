// The dashboard's routes (pages, session browser, server info, live feed), so the app registers them in one line.
import type { RouteDef } from '../context.ts';
import { dashboardRoutes } from './dashboard.ts';
import { liveFeedRoutes } from './live-feed.ts';
import { playerPageRoutes } from './player-pages.ts';
import { serverInfoRoutes } from './server-info.ts';
import { sessionBrowserRoutes } from './session-browser.ts';

// The catch-all dashboard route goes last; the router prefers exact and parameter routes anyway.
export const webRoutes: RouteDef[] = [
  ...sessionBrowserRoutes,
  ...serverInfoRoutes,
  ...liveFeedRoutes,
  ...playerPageRoutes,
  ...dashboardRoutes,
];
