// Entry point of the session writer thread.
import { parentPort, workerData } from 'node:worker_threads';
import { SessionWriter, type WriteRequest } from './session-writer.ts';

const { file, durability } = workerData as { file: string; durability: 'full' | 'normal' };
const writer = new SessionWriter(file, durability);
// Before `ready`: the store does not open, and no request is written, until older sessions are rolled up.
writer.backfillQoeRollups();
const port = parentPort!;

port.on('message', (msg: WriteRequest | { close: true }) => {
  if ('close' in msg) {
    writer.close();
    port.postMessage({ closed: true });
    port.close();
    return;
  }
  port.postMessage(writer.write(msg));
});
port.postMessage({ ready: true });
