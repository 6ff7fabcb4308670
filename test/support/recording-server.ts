import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request exactly as it reached the wire. */
export interface RecordedRequest {
  method: string;
  /** Path and query string, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body text ('' when none). */
  body: string;
}

/** A canned answer of the recording server. */
export interface CannedResponse {
  status: number;
  body?: unknown;
  /** Sent verbatim instead of `body` (to test malformed JSON). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Delay before answering, to test timeouts. */
  delayMs?: number;
}

/**
 * An independent HTTP server that records every request and answers with canned responses.
 * It stands in for a provider that follows its documentation to the letter, so contract
 * tests see the exact bytes our clients send rather than what our own sandboxes tolerate.
 */
export async function startRecordingServer(respond: (request: RecordedRequest) => CannedResponse) {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const canned = respond(recorded);
      const send = () => {
        if (res.destroyed) return;
        const payload = canned.rawBody ?? (canned.body === undefined ? '' : JSON.stringify(canned.body));
        res.writeHead(canned.status, { 'content-type': 'application/json', ...canned.headers });
        res.end(payload);
      };
      if (canned.delayMs) setTimeout(send, canned.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
