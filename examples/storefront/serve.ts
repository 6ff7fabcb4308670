import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';

/*
 * Serves the built storefront (examples/storefront/dist) and, at /config.js, the settings the
 * page reads at run time, so one build works against any API: `npm run storefront` builds, then
 * runs this file.
 */

/** The storefront server's environment (README "Storefront"). */
export const storefrontEnvSchema = z.object({
  STOREFRONT_PORT: z.coerce.number().int().min(0).max(65_535).default(5173).describe('Port of the storefront.'),
  STOREFRONT_HOST: z.string().min(1).default('127.0.0.1').describe('Interface to listen on.'),
  API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://localhost:4000' })
    .default('http://localhost:4000')
    .describe('Origin of the checkout graph the page calls.'),
  STOREFRONT_API_KEY: z.string().min(1).optional().describe('API key the page sends; unset without API_KEYS.'),
  STAN_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .default('EUR')
    .describe('The API’s STAN_CURRENCY, in which the page computes Stan totals.'),
  STOREFRONT_DIST: z.string().min(1).optional().describe('Folder of the build; examples/storefront/dist by default.'),
});

/** What the storefront server needs. */
export interface StorefrontServerOptions {
  port: number;
  host: string;
  /** Origin of the API, e.g. `http://localhost:4000`. */
  apiUrl: string;
  /** Key the page sends as `Authorization: Bearer`; null without API_KEYS. */
  apiKey: string | null;
  stanCurrency: string;
  /** The Vite build to serve. */
  distDir: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Reads the environment; a bad variable is one line naming it. */
export function storefrontOptions(env: NodeJS.ProcessEnv): StorefrontServerOptions {
  const parsed = storefrontEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid ${String(issue.path[0])}: ${issue.message}`);
  }
  const values = parsed.data;
  return {
    port: values.STOREFRONT_PORT,
    host: values.STOREFRONT_HOST,
    apiUrl: values.API_URL.replace(/\/+$/, ''),
    apiKey: values.STOREFRONT_API_KEY ?? null,
    stanCurrency: values.STAN_CURRENCY,
    distDir: values.STOREFRONT_DIST ?? fileURLToPath(new URL('./dist/', import.meta.url)),
  };
}

/** The page may talk to its own origin and to the API (HTTP and WebSocket), nothing else. */
function securityHeaders(apiUrl: string): Record<string, string> {
  const api = new URL(apiUrl);
  const ws = `${api.protocol === 'https:' ? 'wss:' : 'ws:'}//${api.host}`;
  return {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${api.origin} ${ws}; img-src 'self' data:; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

/** Starts the server; resolves once it listens. */
export async function startStorefrontServer(
  options: StorefrontServerOptions,
): Promise<{ url: string; server: Server }> {
  const root = normalize(options.distDir + sep);
  const index = await readFile(join(root, 'index.html')).catch(() => {
    throw new Error(`no build in ${root}: run npm run storefront (it builds first)`);
  });
  const config = `window.STOREFRONT_CONFIG = ${JSON.stringify({
    apiUrl: options.apiUrl,
    apiKey: options.apiKey,
    stanCurrency: options.stanCurrency,
  })};\n`;
  const headers = securityHeaders(options.apiUrl);
  const server = createServer(async (request, response) => {
    const path = safeDecode(new URL(request.url ?? '/', 'http://storefront').pathname);
    if (path === undefined) {
      response.writeHead(400, headers).end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', ...headers }).end();
      return;
    }
    if (path === '/config.js') {
      response.writeHead(200, { 'content-type': CONTENT_TYPES['.js']!, 'cache-control': 'no-store', ...headers });
      response.end(config);
      return;
    }
    const file = normalize(join(root, path));
    const body = file.startsWith(root) && extname(file) ? await readFile(file).catch(() => undefined) : undefined;
    if (body) {
      // Vite names built assets by content hash: they never change under the same name.
      const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
      response.writeHead(200, { 'content-type': type, 'cache-control': cache, ...headers }).end(body);
    } else if (extname(path)) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('Not found\n');
    } else {
      // Any other page path (Stan's return URL, /?returned=stan) is the storefront itself.
      response.writeHead(200, { 'content-type': CONTENT_TYPES['.html']!, 'cache-control': 'no-cache', ...headers });
      response.end(index);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`, server };
}

/** The manifest codegen wrote for the documents the build sends (by hash). */
const MANIFEST = new URL('./src/gql/persisted-documents.json', import.meta.url);

/**
 * Publishes the page's trusted documents to the API as app `storefront`, version = the manifest's
 * own sha256 (so a build with other documents is another version, and the same one publishes as a
 * no-op), with the storefront's key: what a deployment step does. Returns what happened, in words.
 * An API with TRUSTED_DOCUMENTS=required refuses this (the mutation is text): there an operator
 * publishes it with `npm run documents -- publish` before the page goes live.
 */
export async function publishStorefrontDocuments(
  options: Pick<StorefrontServerOptions, 'apiUrl' | 'apiKey'>,
): Promise<string> {
  const text = await readFile(MANIFEST, 'utf8');
  const appVersion = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const input = { appName: 'storefront', appVersion, documents: JSON.parse(text) as unknown };
  try {
    const response = await fetch(`${options.apiUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) { __typename ... on Error { message } } }`,
        variables: { input },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as {
      data?: { publishDocumentManifest: { __typename: string; message?: string } };
      errors?: { message: string }[];
    };
    const result = body.data?.publishDocumentManifest;
    if (result?.__typename === 'PublishDocumentManifestSuccess')
      return `documents published as storefront ${appVersion}`;
    const why = result?.message ?? body.errors?.map((error) => error.message).join('; ') ?? `HTTP ${response.status}`;
    return `documents not published (${why}): npm run documents -- publish --tenant <tenant> --app storefront --version ${appVersion} examples/storefront/src/gql/persisted-documents.json`;
  } catch (error) {
    return `documents not published: the API at ${options.apiUrl} did not answer (${error instanceof Error ? error.message : String(error)})`;
  }
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const options = storefrontOptions(process.env);
    const { url, server } = await startStorefrontServer(options);
    console.log(`storefront on ${url} using the API at ${options.apiUrl}${options.apiKey ? ' (with an API key)' : ''}`);
    console.log(`storefront: ${await publishStorefrontDocuments(options)}`);
    const stop = () => server.close(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } catch (error) {
    console.error(`storefront: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
