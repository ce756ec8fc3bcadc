// Who used the CPU during a measured run: the server child (its main thread, and its busiest other thread,
// which under write load is the SQLite writer), this process (autocannon), and the rest of the machine:
// other programs, and kernel threads (some of it the bench's own loopback and fsync work). Client and server
// share the cores, so these say which side was the bottleneck and whether another program stole time and
// spoiled the figures. Linux /proc only; elsewhere the figures are null.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_SEC = 0.01; // USER_HZ, 100 on every Linux we run on

export interface CpuUse {
  /** Cores used on average over the run (1.0 = one core fully busy). */
  server: number;
  /** The server's main thread alone: near 1.0 means its event loop is CPU-bound. */
  serverMain: number;
  /** The server's busiest thread other than the main one. */
  serverOtherMax: number;
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

function statCpuSec(file: string): number {
  // utime and stime are fields 14 and 15; split after the ")" that ends the command name.
  const f = readFileSync(file, 'utf8').split(')').pop()!.trim().split(/\s+/);
  return (Number(f[11]) + Number(f[12])) * TICK_SEC;
}

/** CPU seconds per thread id of a process (the main thread's id is the pid). */
function threadCpuSec(pid: number): Map<string, number> {
  const byTid = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      byTid.set(tid, statCpuSec(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between listing and reading
    }
  }
  return byTid;
}

function selfCpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Starts measuring; the returned function ends the measurement. */
export function startCpuMeter(serverPid: number, cores: number): () => CpuUse | null {
  let start: { at: number; machine: number; server: number; threads: Map<string, number>; client: number };
  try {
    start = {
      at: performance.now(),
      machine: machineBusySec(),
      server: statCpuSec(`/proc/${serverPid}/stat`),
      threads: threadCpuSec(serverPid),
      client: selfCpuSec(),
    };
  } catch {
    return () => null;
  }
  return () => {
    try {
      const wall = (performance.now() - start.at) / 1000;
      const server = (statCpuSec(`/proc/${serverPid}/stat`) - start.server) / wall;
      const client = (selfCpuSec() - start.client) / wall;
      const machine = (machineBusySec() - start.machine) / wall;
      let serverMain = 0;
      let serverOtherMax = 0;
      for (const [tid, sec] of threadCpuSec(serverPid)) {
        const used = (sec - (start.threads.get(tid) ?? 0)) / wall;
        if (tid === String(serverPid)) serverMain = used;
        else serverOtherMax = Math.max(serverOtherMax, used);
      }
      return { server, serverMain, serverOtherMax, client, others: Math.max(0, machine - server - client), cores };
    } catch {
      return null;
    }
  };
}
