// Who used the CPU during a measured run: the server child, this process (autocannon), and everything else
// on the machine. Client and server share two cores, so these say which side was the bottleneck and whether
// another program stole time and spoiled the figures. Linux /proc only; elsewhere the figures are null.
import { readFileSync } from 'node:fs';

const TICK_SEC = 0.01; // USER_HZ, 100 on every Linux we run on

export interface CpuUse {
  /** Cores used on average over the run (1.0 = one core fully busy). */
  server: number;
  client: number;
  others: number;
  /** Cores the machine has. */
  cores: number;
}

function machineBusySec(): number {
  // First line: "cpu  user nice system idle iowait irq softirq steal ..."; idle and iowait are not busy.
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((s, x) => s + x, 0);
  return (total - f[3]! - f[4]!) * TICK_SEC;
}

function processCpuSec(pid: number): number {
  // utime and stime are fields 14 and 15; split after the ")" that ends the command name.
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
  return (Number(f[11]) + Number(f[12])) * TICK_SEC;
}

function selfCpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Starts measuring; the returned function ends the measurement. */
export function startCpuMeter(serverPid: number, cores: number): () => CpuUse | null {
  let start: { at: number; machine: number; server: number; client: number };
  try {
    start = { at: performance.now(), machine: machineBusySec(), server: processCpuSec(serverPid), client: selfCpuSec() };
  } catch {
    return () => null;
  }
  return () => {
    try {
      const wall = (performance.now() - start.at) / 1000;
      const server = (processCpuSec(serverPid) - start.server) / wall;
      const client = (selfCpuSec() - start.client) / wall;
      const machine = (machineBusySec() - start.machine) / wall;
      return { server, client, others: Math.max(0, machine - server - client), cores };
    } catch {
      return null;
    }
  };
}
