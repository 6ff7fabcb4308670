/**
 * Bench-only preload (`node --import tsx --import ./bench/lib/pglite-wire-count.ts <server>`):
 * counts the statements a process runs on PGlite. PGlite's query, exec and transaction all send
 * frontend protocol messages into its WASM backend through `execProtocolStream` (named prepared
 * statements through `execProtocol`), one message per call; wrapping both on the prototype sees
 * every one of them, and bench/lib/pg-wire.ts
 * reads them exactly as the PostgreSQL proxy reads the bytes on the wire.
 *
 * The log is read over a control port on 127.0.0.1: the process prints
 * `WIRELOG {"url": ...}`; `POST /reset` empties the log, `GET /log` answers
 * `{"counts": WireCounts, "statements": WireStatement[]}`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { WireLog } from './pg-wire.js';

const log = new WireLog();
const parser = log.connection({ startup: false });
// Statements run by drizzle go through execProtocolStream; named prepared statements
// (src/db/prepared.ts) through execProtocol, which does not call it: both are read the same way.
for (const method of ['execProtocolStream', 'execProtocol'] as const) {
  const original = PGlite.prototype[method] as (this: PGlite, message: Uint8Array, options?: unknown) => unknown;
  Object.assign(PGlite.prototype, {
    [method](this: PGlite, message: Uint8Array, options?: unknown) {
      parser.feed(message);
      return original.call(this, message, options);
    },
  });
}

const control = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/reset') {
    log.reset();
    res.writeHead(204).end();
  } else if (req.method === 'GET' && req.url === '/log') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ counts: log.counts(), statements: log.statements }));
  } else {
    res.writeHead(404).end();
  }
});
control.listen(0, '127.0.0.1', () => {
  const { port } = control.address() as AddressInfo;
  console.log(`WIRELOG ${JSON.stringify({ url: `http://127.0.0.1:${port}` })}`);
});
control.unref();
