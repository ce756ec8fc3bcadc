// The floor for segment serving: plain node:http streaming files from one folder (no signature, no routing).
// Usage: node --import tsx segment-floor-server.ts <port> <dir>
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [port, dir] = [Number(process.argv[2]), process.argv[3]!];
http
  .createServer((req, res) => {
    const file = path.join(dir, path.basename(new URL(req.url ?? '/', 'http://x').pathname));
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    createReadStream(file).pipe(res);
  })
  .listen(port, '127.0.0.1');
