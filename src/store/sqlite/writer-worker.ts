// Entry point of the session writer thread.
import { parentPort, workerData } from 'node:worker_threads';
import { type ControlMessage, SessionWriter, type WriteRequest } from './session-writer.ts';

/** Pending QoE rollup deltas are written in a transaction of their own once no group came for this long. */
const IDLE_FLUSH_MS = 250;

const { file, durability, owner } = workerData as { file: string; durability: 'full' | 'normal'; owner: boolean };
const writer = new SessionWriter(file, durability);
// Before `ready`: the store does not open, and no request is written, until the rollups are whole again
// (buckets whose deltas a crash lost) and older sessions are rolled up. Only in the server that owns the data:
// a CLI command opening the database beside a running server would find that server's marks (its deltas still
// pending in memory) and recompute those rows, and the server's own flush would then add its deltas twice.
if (owner) writer.recoverQoeRollups();
writer.backfillQoeRollups();
const port = parentPort!;

const idle = setTimeout(() => {
  try {
    writer.flushRollups();
  } catch {
    // Still pending (and marked): the next group, reader or idle turn writes them.
    idle.refresh();
  }
}, IDLE_FLUSH_MS);
idle.unref();

function control(msg: ControlMessage): unknown {
  if (msg.op === 'flushRollups') {
    writer.flushRollups();
    return null;
  }
  return writer.deleteApp(msg.appId);
}

port.on('message', (msg: WriteRequest | ControlMessage | { close: true }) => {
  if ('close' in msg) {
    clearTimeout(idle);
    try {
      writer.close();
    } catch {
      // Pending rollup deltas not written stay marked: the next start recomputes their rows.
    }
    port.postMessage({ closed: true });
    port.close();
    return;
  }
  if ('control' in msg) {
    try {
      port.postMessage({ control: msg.control, value: control(msg) });
    } catch (err) {
      port.postMessage({ control: msg.control, error: (err as Error).message });
    }
    return;
  }
  const result = writer.write(msg);
  if (result.pending) idle.refresh();
  port.postMessage(result);
});
port.postMessage({ ready: true });
