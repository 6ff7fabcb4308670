import type { IncomingMessage } from 'node:http';

/** True when the request announces a body larger than `maxBytes` in its Content-Length. */
export function announcedTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > maxBytes;
}

/**
 * Reads a body up to `maxBytes` (its announced length was checked already; a chunked one announces
 * none): resolves to the bytes, or to null as soon as it grows past the limit (the rest is not read).
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
