// Opens the dashboard in the desktop's browser when m3w was double-clicked or started from a desktop
// terminal — never on a headless server, over SSH, or under systemd, and never with --no-open.
import { spawn } from 'node:child_process';

export function desktopSession(env: NodeJS.ProcessEnv = process.env, platform = process.platform): boolean {
  if (env.INVOCATION_ID || env.SSH_CONNECTION || env.SSH_TTY || env.CI) return false;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Starts the platform's URL opener and forgets it; a missing opener is not an error worth a word. */
export function openBrowser(url: string, platform = process.platform): void {
  const [command, args] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener: the banner already shows the URL.
  }
}
