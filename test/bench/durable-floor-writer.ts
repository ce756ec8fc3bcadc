// The durable floor's writer thread: inserts each group of rows it is handed in one transaction through
// m3w's own insert statement and connection settings (WAL, synchronous=FULL), then answers. Nothing else.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../src/store/sqlite/open-database.ts';
import { INSERT_NEW_SESSION_SQL, SESSION_ROW_WIDTH } from '../../src/store/sqlite/session-rows.ts';

const db = openDatabase((workerData as { file: string }).file, { durability: 'full' });
const insert = db.prepare(INSERT_NEW_SESSION_SQL);
const row = new Array<unknown>(SESSION_ROW_WIDTH);
const commit = db.transaction((values: unknown[]) => {
  for (let b = 0; b < values.length; b += SESSION_ROW_WIDTH) {
    for (let c = 0; c < SESSION_ROW_WIDTH; c++) row[c] = values[b + c];
    insert.run(row);
  }
});
parentPort!.on('message', (values: unknown[] | 'close') => {
  if (values === 'close') {
    db.close();
    process.exit(0);
  }
  commit(values);
  parentPort!.postMessage(0);
});
parentPort!.postMessage(0);
