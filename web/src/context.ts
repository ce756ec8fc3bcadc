// What every page gets: where to draw, who is signed in, which app is selected, the live feed, navigation.
import type { App, Me } from './api.ts';
import type { LiveSocket } from './live-socket.ts';

export interface PageContext {
  main: HTMLElement;
  me: Me;
  apps: App[];
  /** The selected app's id ('' when the user sees no app yet). */
  app: string;
  live: LiveSocket;
  params: URLSearchParams;
  /** The path after the page's own, e.g. the session id in /sessions/<id>. */
  rest: string;
  navigate(to: string): void;
  /** Reloads apps (after Settings changed them) and redraws the page. */
  refreshApps(): Promise<void>;
  /** Registers cleanup to run when the user leaves the page. */
  onLeave(fn: () => void): void;
}

export type Page = (ctx: PageContext) => void | Promise<void>;
