// The floor for the bench: a plain node:http server that does the least any JSON ingest endpoint must do
// (read the body, JSON.parse it, answer 200) and nothing else. No database, no validation, no logging.
// Measured on the same machine in the same run as m3w, it tells how much of the machine the HTTP layer
// alone can use, so m3w's figure can be read as a ratio instead of a noisy absolute.
// Usage: node --import tsx test/bench/floor-server.ts <port>
import http from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: floor-server.ts <port>\n');
  process.exit(2);
}

const OK = JSON.stringify({ status: 'success' });

// Same keep-alive timeout as m3w, so connection handling is alike.
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      status = 400; // also what a readiness probe without a body gets
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(status === 200 ? OK : '{"error":"bad json"}');
  });
});

server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
