import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../src/config/index.js';
import { PROVIDER_REGISTRY, testModeProviders } from '../src/providers/index.js';

/*
 * Docker cannot run where the suite runs, so the deployment files are checked against the code
 * instead: the Dockerfile and compose.yaml are parsed, every environment variable is validated by
 * the app's own config schema, every URL must point at a service that listens there, and the
 * healthcheck commands are run against a real HTTP server.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const exists = (path: string) => existsSync(join(ROOT, path));

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    // A comment line is dropped, even inside a continuation, as Docker does.
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) logical.push(full);
  }
  expect(pending, 'the Dockerfile ends inside a line continuation').toBe('');
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/s.exec(line)!;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      expect(from, `FROM ${args}`).not.toBeNull();
      stages.push({ base: from![1]!, name: from![2], instructions: [] });
      continue;
    }
    expect(stages.length, `${keyword} before any FROM`).toBeGreaterThan(0);
    stages.at(-1)!.instructions.push({ keyword, args });
  }
  return stages;
}

/** The `key=value` pairs of ENV instructions (values may be double-quoted). */
function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    const pairs = [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)];
    expect(pairs.length, `ENV ${args}: only the key=value form is supported here`).toBeGreaterThan(0);
    for (const [, key, value] of pairs) env[key!] = value!.startsWith('"') ? (JSON.parse(value!) as string) : value!;
  }
  return env;
}

/** Exec form (JSON array) of CMD / HEALTHCHECK CMD; shell form is refused (no signals, needs sh). */
function execForm(args: string): string[] {
  expect(args.startsWith('['), `not exec form: ${args}`).toBe(true);
  const parsed = JSON.parse(args) as unknown;
  expect(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')).toBe(true);
  return parsed as string[];
}

/** `COPY [--flags] src... dest` split into flags, sources and destination (exec form too). */
function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    flags[flag[1]!] = flag[2]!;
    rest = rest.slice(flag[0].length);
  }
  const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { flags, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/** Whether `.dockerignore` keeps `path` out of the build context (last matching rule wins). */
function dockerIgnored(rules: string[], path: string): boolean {
  const normal = posix.normalize(path).replace(/^\.\/|\/$/g, '');
  let ignored = false;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = posix.normalize((negated ? rule.slice(1) : rule).trim()).replace(/^\/|\/$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) =>
          part.startsWith('**')
            ? '(?:.*/)?'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}(?:/.*)?$`,
    );
    if (regex.test(normal)) ignored = !negated;
  }
  return ignored;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const finalStage = dockerfile.at(-1)!;
const imageEnv = stageEnv(finalStage);
const dockerignore = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const packageJson = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const packageLock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string }> };

const instructions = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const stageNamed = (name: string) => dockerfile.find((stage) => stage.name === name);

/** Runs `node -e <script>` with `env` and resolves its exit code. */
function runNodeScript(script: string, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

/** An HTTP server on a free loopback port answering `status` on `path` (404 elsewhere). */
async function fakeServer(path: string, status: number): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === path ? status : 404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Bare module specifiers imported for their values (type-only imports are erased by tsx). */
function valueImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(
    /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g,
  )) {
    if (!match[1]) found.push(match[2]!);
  }
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found.filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/'));
}

const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => posix.join(dir, file.split('\\').join('/')));
}

describe('Dockerfile', () => {
  it('is multi-stage on Node 24 (README names it first; engines still admits 20), each stage from a pinned node image or an earlier stage', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    const major = '24';
    expect(Number(/(\d+)/.exec(packageJson.engines.node)![1])).toBeLessThanOrEqual(Number(major));
    dockerfile.forEach((stage, index) => {
      const earlier = dockerfile.slice(0, index).map((s) => s.name);
      if (earlier.includes(stage.base)) return;
      expect(stage.base).toBe(`node:${major}-bookworm-slim`);
    });
    const names = dockerfile.map((stage) => stage.name);
    expect(new Set(names).size, 'stage names are unique').toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['deps', 'tools']));
  });

  it('installs production dependencies from the lockfile in a layer that only the package files and patches invalidate', () => {
    const deps = stageNamed('deps')!;
    const firstRun = deps.instructions.findIndex((i) => i.keyword === 'RUN');
    const copies = deps.instructions.slice(0, firstRun).filter((i) => i.keyword === 'COPY');
    // patches/ is part of the install: npm ci's postinstall applies it (patch-package).
    expect(copies.flatMap((copy) => copyArgs(copy.args).sources).sort()).toEqual([
      'package-lock.json',
      'package.json',
      'patches',
    ]);
    expect(deps.instructions[firstRun]!.args).toMatch(/\bnpm ci\b.*--omit=dev\b/);
    // The runtime image takes its node_modules from there, not from a full install.
    const nodeModules = instructions(finalStage, 'COPY')
      .map((copy) => copyArgs(copy.args))
      .filter((copy) => copy.sources.includes('/app/node_modules'));
    expect(nodeModules.map((copy) => copy.flags.from)).toEqual(['deps']);
  });

  it('has a tools stage with every dependency, for the supergraph job (its composer is a devDependency)', () => {
    const tools = stageNamed('tools')!;
    expect(
      tools.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)),
    ).toBe(true);
    expect(packageJson.devDependencies).toHaveProperty('@theguild/federation-composition');
    const copied = instructions(tools, 'COPY').flatMap((copy) => copyArgs(copy.args).sources);
    expect(copied).toEqual(expect.arrayContaining(['src', 'scripts']));
  });

  it('runs the final stage as a non-root user, set before CMD', () => {
    const users = instructions(finalStage, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0];
    expect(['root', '0']).not.toContain(user);
    const order = finalStage.instructions.map((i) => i.keyword);
    expect(order.lastIndexOf('USER')).toBeLessThan(order.lastIndexOf('CMD'));
    // The one place the app writes (PGlite) is given to that user.
    expect(imageEnv.DATA_DIR).toBeDefined();
    expect(
      finalStage.instructions.some(
        (i) => i.keyword === 'RUN' && i.args.includes(imageEnv.DATA_DIR!) && i.args.includes(`chown ${user}`),
      ),
    ).toBe(true);
  });

  it('sets only variables the app knows, production defaults, and the same port it exposes', () => {
    for (const name of Object.keys(imageEnv)) expect(envSchema.shape, name).toHaveProperty(name);
    expect(imageEnv).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
    expect(instructions(finalStage, 'EXPOSE').map((i) => i.args)).toEqual([imageEnv.PORT]);
    // Production posture: the image alone refuses to start without API keys, and starts with them.
    expect(() => loadConfig(imageEnv)).toThrow(/API_KEYS is required/);
    expect(loadConfig({ ...imageEnv, API_KEYS: 'demo:change-me-demo-key' }).nodeEnv).toBe('production');
  });

  it('starts the build of src/main.ts (dist/main.js, from a build stage) with node as PID 1', () => {
    const cmd = execForm(instructions(finalStage, 'CMD').at(-1)!.args);
    expect(cmd).toEqual(['node', 'dist/main.js']);
    expect(packageJson.scripts['start:dist']).toBe(`exec node ${cmd[1]}`);
    expect(packageJson.scripts.start).toBe('exec node --import tsx src/main.ts');
    expect(exists('src/main.ts')).toBe(true);
    const dist = instructions(finalStage, 'COPY')
      .map((copy) => copyArgs(copy.args))
      .filter((copy) => copy.sources.includes('/app/dist'));
    expect(dist.map((copy) => copy.flags.from)).toEqual(['build']);
    expect(stageNamed('build')!.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(
      true,
    );
    // compose.yaml's sandbox and orders services still run their TypeScript through tsx.
    expect(packageJson.dependencies).toHaveProperty('tsx');
  });

  it('copies only paths that exist and that .dockerignore lets into the context', () => {
    const seen: string[] = [];
    dockerfile.forEach((stage, index) => {
      for (const copy of [...instructions(stage, 'COPY'), ...instructions(stage, 'ADD')]) {
        const { flags, sources } = copyArgs(copy.args);
        if (flags.from) {
          expect(
            dockerfile.slice(0, index).map((s) => s.name),
            `--from=${flags.from}`,
          ).toContain(flags.from);
          continue;
        }
        for (const source of sources) {
          seen.push(source);
          expect(exists(source), `${source} is copied but does not exist`).toBe(true);
          expect(dockerIgnored(dockerignore, source), `${source} is copied but .dockerignore excludes it`).toBe(false);
        }
      }
    });
    expect(seen.length).toBeGreaterThan(0);
  });

  it('ships everything the API and the orders subgraph read at run time', () => {
    const copied = instructions(finalStage, 'COPY')
      .map((copy) => copyArgs(copy.args))
      .filter((copy) => !copy.flags.from)
      .flatMap((copy) => copy.sources);
    const shipped = (path: string) => copied.some((source) => path === source || path.startsWith(`${source}/`));
    // src/db/client.ts finds its migrations next to itself, and the orders server reads its SDL file.
    expect(read('src/db/client.ts')).toMatch(/new URL\('\.\/migrations', import\.meta\.url\)/);
    expect(exists('src/db/migrations/meta/_journal.json')).toBe(true);
    for (const path of [
      'package.json',
      'tsconfig.json',
      'src/main.ts',
      'src/sandbox.ts',
      'src/db/migrations/meta/_journal.json',
      'examples/orders/server.ts',
      'examples/orders/schema.graphql',
    ]) {
      expect(shipped(path), `${path} is not in the runtime image`).toBe(true);
    }
  });

  it('needs no devDependency in the runtime image: every package src/ and the orders example import is a dependency', () => {
    const files = [...tsFiles('src'), ...tsFiles('examples/orders')];
    expect(files).toContain('src/main.ts');
    const missing = new Set<string>();
    for (const file of files) {
      for (const specifier of valueImports(read(file))) {
        if (isBuiltin(specifier)) continue;
        if (!(packageName(specifier) in packageJson.dependencies)) missing.add(`${packageName(specifier)} (${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('keeps local state, secrets and node_modules out of the build context', () => {
    for (const path of [
      'node_modules',
      'node_modules/pg/package.json',
      '.data',
      '.env',
      '.git',
      'test-results',
      'supergraph.graphql',
    ]) {
      expect(dockerIgnored(dockerignore, path), path).toBe(true);
    }
  });

  describe('HEALTHCHECK', () => {
    const healthcheck = instructions(finalStage, 'HEALTHCHECK').at(-1)!;
    const command = execForm(healthcheck.args.replace(/^(--[a-z-]+=\S+\s+)*CMD\s+/, ''));
    const script = command[2]!;

    it('is exec-form node (the slim image has no curl) probing /health', () => {
      expect(command.slice(0, 2)).toEqual(['node', '-e']);
      expect(script).toContain('/health');
      expect(healthcheck.args).toMatch(/--timeout=\d+s/);
    });

    it('passes on 200 at PORT, fails on 503, on another path and when nothing listens', async () => {
      const ok = await fakeServer('/health', 200);
      const down = await fakeServer('/health', 503);
      const elsewhere = await fakeServer('/ready', 200);
      onTestFinished(() => {
        for (const { server } of [ok, down, elsewhere]) server.close();
      });
      expect(await runNodeScript(script, { PORT: String(ok.port) })).toBe(0);
      expect(await runNodeScript(script, { PORT: String(down.port) })).toBe(1);
      expect(await runNodeScript(script, { PORT: String(elsewhere.port) })).toBe(1);
      // Port 1 on loopback: nothing listens there.
      expect(await runNodeScript(script, { PORT: '1' })).toBe(1);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// compose.yaml

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: string[];
  ports?: (string | number)[];
  healthcheck?: Healthcheck;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose interpolation with the documented defaults only (`${VAR:-default}`, `${VAR-default}`,
 * `$$`): the checks must not depend on the environment of whoever runs them. A variable without a
 * default would make `docker compose up` depend on the caller's shell, so it fails the test.
 */
function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match: string, _name?: string, fallback?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare !== undefined || fallback === undefined) throw new Error(`compose.yaml: ${match} has no default`);
      return fallback;
    },
  );
}

/** A service's environment as a map, interpolated. */
function serviceEnv(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(service.environment)) {
    for (const entry of service.environment) {
      const separator = entry.indexOf('=');
      env[entry.slice(0, separator)] = interpolate(entry.slice(separator + 1));
    }
  } else {
    for (const [key, value] of Object.entries(service.environment ?? {}))
      env[key] = interpolate(value === null ? '' : String(value));
  }
  return env;
}

function dependsOn(service: ComposeService): Record<string, string> {
  const entries = Array.isArray(service.depends_on)
    ? service.depends_on.map((name) => [name, 'service_started'] as const)
    : Object.entries(service.depends_on ?? {}).map(
        ([name, spec]) => [name, spec.condition ?? 'service_started'] as const,
      );
  return Object.fromEntries(entries);
}

const composeText = read('compose.yaml');
const compose = parse(composeText) as ComposeFile;
const services = compose.services;
const APP_SERVICES = ['sandbox', 'api-1', 'api-2', 'orders'];
const API_SERVICES = ['api-1', 'api-2'];

/** What the API sees in a container: the image's ENV, overridden by the service's environment. */
const containerEnv = (name: string) => ({ ...imageEnv, ...serviceEnv(services[name]!) });
const volumesOf = (service: ComposeService) =>
  (service.volumes ?? []).map((spec) => {
    const [source, target, mode] = spec.split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
const urlOf = (value: string | undefined, what: string) => {
  expect(value, what).toBeDefined();
  return new URL(value!);
};

describe('README configuration table', () => {
  it('lists every variable of the config schema, and only those', () => {
    const section = read('README.md').split('\n## Configuration\n')[1]!.split('\n## ')[0]!;
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(envSchema.shape).sort());
  });
});

describe('compose.yaml', () => {
  it('parses, and has the documented services', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api-1',
      'api-2',
      'gateway',
      'orders',
      'postgres',
      'redis',
      'sandbox',
      'supergraph',
    ]);
    expect(services.postgres!.image).toBe('postgres:15');
    expect(services.redis!.image).toBe('redis:7');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the title names compose's own ${VAR} syntax.
  it('interpolates every ${VAR} with a default, so it runs with an empty shell environment', () => {
    const references = [...composeText.matchAll(/\$\{[^}]*\}/g)].map((match) => match[0]);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(() => interpolate(reference), reference).not.toThrow();
  });

  it('builds the app services from this Dockerfile: the runtime stage for the servers, tools for the supergraph job', () => {
    for (const name of APP_SERVICES) {
      expect(services[name]!.build, name).toEqual({ context: '.', target: finalStage.name });
      expect(services[name]!.image, `${name} must be built, not pulled`).toBeUndefined();
    }
    expect(finalStage.name).toBeDefined();
    expect(services.supergraph!.build).toEqual({ context: '.', target: 'tools' });
    expect(stageNamed('tools')).toBeDefined();
  });

  it('runs every node entry point directly (node is PID 1 and gets SIGTERM) on a file that matches its npm script', () => {
    const expected: Record<string, string> = { sandbox: 'sandbox', orders: 'example:orders', supergraph: 'supergraph' };
    for (const [name, script] of Object.entries(expected)) {
      const command = services[name]!.command as string[];
      expect(command.slice(0, 3), name).toEqual(['node', '--import', 'tsx']);
      expect(exists(command[3]!), `${command[3]} (${name})`).toBe(true);
      expect(packageJson.scripts[script], name).toBe(`tsx ${command[3]}`);
    }
    for (const name of API_SERVICES) expect(services[name]!.command, `${name} runs the image's CMD`).toBeUndefined();
  });

  it('gives both API instances the same build, environment and dependencies: postgres, redis and the sandbox, healthy', () => {
    const [one, two] = API_SERVICES.map((name) => services[name]!);
    expect(two!.build).toEqual(one!.build);
    expect(serviceEnv(two!)).toEqual(serviceEnv(one!));
    expect(dependsOn(two!)).toEqual(dependsOn(one!));
    expect(dependsOn(one!)).toEqual({
      postgres: 'service_healthy',
      redis: 'service_healthy',
      sandbox: 'service_healthy',
    });
  });

  it('sets on the API only variables the config schema knows, and the config loads in production with them', () => {
    for (const name of API_SERVICES) {
      for (const key of Object.keys(serviceEnv(services[name]!)))
        expect(envSchema.shape, `${name}: ${key}`).toHaveProperty(key);
      const config = loadConfig(containerEnv(name));
      expect(config.nodeEnv).toBe('production');
      expect(config.apiKeys?.size).toBeGreaterThan(0);
      expect(config.databaseUrl).toBeDefined();
      expect(config.redisUrl).toBeDefined();
      expect(config.poller).toBe(true);
      // Every provider has a base URL: no instance starts private in-process sandboxes.
      expect(Object.values(config.providers).every((provider) => Boolean(provider.baseUrl))).toBe(true);
    }
  });

  it('points DATABASE_URL at the postgres service with its user, password and database', () => {
    const url = urlOf(containerEnv('api-1').DATABASE_URL, 'DATABASE_URL');
    const pg = serviceEnv(services.postgres!);
    expect(url.hostname).toBe('postgres');
    expect(url.port).toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    // The same substitution feeds both, so overriding POSTGRES_PASSWORD cannot split them.
    expect(services.postgres!.environment).toMatchObject({
      POSTGRES_PASSWORD: expect.stringContaining('${POSTGRES_PASSWORD'),
    });
    expect((services['api-1']!.environment as Record<string, string>).DATABASE_URL).toContain('${POSTGRES_PASSWORD');
    const probe = (services.postgres!.healthcheck!.test as string[]).join(' ');
    expect(probe).toContain('pg_isready');
    expect(probe).toContain(`-U ${pg.POSTGRES_USER}`);
    expect(probe).toContain(`-d ${pg.POSTGRES_DB}`);
  });

  it('points REDIS_URL at the redis service', () => {
    const url = urlOf(containerEnv('api-1').REDIS_URL, 'REDIS_URL');
    expect(url.protocol).toBe('redis:');
    expect(url.hostname).toBe('redis');
    expect(url.port || '6379').toBe('6379');
    expect(services.redis!.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('points the providers at the one shared sandbox, on the ports it listens on, with the credentials it checks', () => {
    const sandboxEnv = containerEnv('sandbox');
    expect(sandboxEnv.SANDBOX_HOST).toBe('0.0.0.0');
    // src/sandbox.ts: the registry's providers on SANDBOX_PORT (default 4100), +1, +2, in registry order.
    expect(read('src/sandbox.ts')).toMatch(/definition\.name, base \+ index/);
    expect(PROVIDER_REGISTRY.map((definition) => definition.name)).toEqual(['SMARTCHECKOUT', 'PAYERVAULT', 'STAN']);
    const base = Number(sandboxEnv.SANDBOX_PORT ?? 4100);
    const api = loadConfig(containerEnv('api-1'));
    for (const [index, definition] of PROVIDER_REGISTRY.entries()) {
      const url = urlOf(api.providers[definition.name].baseUrl, `provider ${definition.name}`);
      expect(url.hostname).toBe('sandbox');
      expect(Number(url.port)).toBe(base + index);
    }
    // The sandbox loads the same config schema; what it accepts must be what the API sends.
    const sandbox = loadConfig(sandboxEnv);
    for (const definition of PROVIDER_REGISTRY) {
      expect(sandbox.providers[definition.name].credentials, definition.name).toEqual(
        api.providers[definition.name].credentials,
      );
    }
    // Reached by URL, yet a sandbox: every provider reports testMode: true.
    expect(testModeProviders(api)).toEqual(new Set(['SMARTCHECKOUT', 'PAYERVAULT', 'STAN']));
    // Its healthcheck probes exactly those three ports.
    const probe = (services.sandbox!.healthcheck!.test as string[]).join(' ');
    expect([...probe.matchAll(/\d{4,5}/g)].map((m) => Number(m[0])).sort()).toEqual([base, base + 1, base + 2]);
  });

  it('composes the supergraph into a volume the gateway reads, with URLs of services that listen there', () => {
    const job = serviceEnv(services.supergraph!);
    const jobVolume = volumesOf(services.supergraph!).find((volume) =>
      job.SUPERGRAPH_OUT!.startsWith(`${volume.target}/`),
    );
    expect(jobVolume, 'SUPERGRAPH_OUT is on a mounted volume').toBeDefined();
    expect(compose.volumes).toHaveProperty(jobVolume!.source);

    const gateway = services.gateway!;
    const command = gateway.command as string[];
    expect(command[0]).toBe('supergraph');
    const gatewayVolume = volumesOf(gateway).find((volume) => volume.source === jobVolume!.source);
    expect(gatewayVolume?.readOnly).toBe(true);
    expect(command[1]).toBe(posix.join(gatewayVolume!.target, posix.relative(jobVolume!.target, job.SUPERGRAPH_OUT!)));
    // /gateway is the image's workdir, holding the gateway itself: nothing may be mounted over it.
    expect(volumesOf(gateway).map((volume) => volume.target)).not.toContain('/gateway');
    expect(dependsOn(gateway).supergraph).toBe('service_completed_successfully');

    const checkouts = urlOf(job.CHECKOUTS_URL, 'CHECKOUTS_URL');
    expect(API_SERVICES).toContain(checkouts.hostname);
    expect(checkouts.port).toBe(String(loadConfig(containerEnv(checkouts.hostname)).port));
    const orders = urlOf(job.ORDERS_URL, 'ORDERS_URL');
    expect(orders.hostname).toBe('orders');
    expect(orders.port).toBe(containerEnv('orders').PORT);
    expect(containerEnv('orders').HOST).toBe('0.0.0.0');
    expect(orders.pathname).toBe('/graphql');
  });

  it("lists exactly the two API instances in the gateway's CHECKOUTS_URLS, and waits for them and orders to be healthy", () => {
    const urls = serviceEnv(services.gateway!)
      .CHECKOUTS_URLS!.split(',')
      .map((url) => url.trim());
    const expected = API_SERVICES.map((name) => `http://${name}:${loadConfig(containerEnv(name)).port}/graphql`);
    expect(urls.sort()).toEqual(expected.sort());
    expect(urls).toContain(serviceEnv(services.supergraph!).CHECKOUTS_URL);
    expect(dependsOn(services.gateway!)).toMatchObject({
      'api-1': 'service_healthy',
      'api-2': 'service_healthy',
      orders: 'service_healthy',
    });
  });

  it("sets on the gateway every variable gateway.config.ts reads, with the supergraph job's CHECKOUTS_URL", () => {
    const gatewayEnv = serviceEnv(services.gateway!);
    const variables = [...read('gateway.config.ts').matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)].map(
      (match) => match[1]!,
    );
    expect(variables.length).toBeGreaterThan(0);
    for (const name of variables) expect(gatewayEnv, `gateway.config.ts reads ${name}`).toHaveProperty(name);
    // The config tells the checkout graph's requests (which get the client's key and are spread
    // over the instances) by the URL in the supergraph: it must be the one the job wrote.
    if (variables.includes('CHECKOUTS_URL'))
      expect(gatewayEnv.CHECKOUTS_URL).toBe(serviceEnv(services.supergraph!).CHECKOUTS_URL);
  });

  it("runs the gateway image of the @graphql-hive/gateway version in the lockfile, with the repo's gateway.config.ts", () => {
    const version = packageLock.packages['node_modules/@graphql-hive/gateway']?.version;
    expect(version).toBeDefined();
    expect(services.gateway!.image).toBe(`ghcr.io/graphql-hive/gateway:${version}`);
    const command = services.gateway!.command as string[];
    const configPath = command[command.indexOf('--config-path') + 1];
    const mount = volumesOf(services.gateway!).find((volume) => volume.target === configPath);
    expect(mount).toMatchObject({ source: './gateway.config.ts', readOnly: true });
  });

  it('publishes only the gateway, on the port the gateway listens on', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'gateway') expect(service.ports, name).toBeUndefined();
    }
    const ports = services.gateway!.ports!.map((port) => interpolate(String(port)));
    expect(ports).toEqual([`4000:${serviceEnv(services.gateway!).PORT}`]);
    const probe = (services.gateway!.healthcheck!.test as string[]).join(' ');
    expect(probe).toContain(`127.0.0.1:${serviceEnv(services.gateway!).PORT}/healthcheck`);
  });

  it('mounts only repo files that exist, and declares every named volume', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const { source } of volumesOf(service)) {
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(source.startsWith('./'), `${name}: ${source} is outside the repo`).toBe(true);
          expect(exists(source), `${name} mounts ${source}, which does not exist`).toBe(true);
          expect(statSync(join(ROOT, source)).isFile()).toBe(true);
        } else {
          expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
        }
      }
    }
  });

  it('waits only on services that exist and that can report what is waited for', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependsOn(service))) {
        const target = services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          // Either its own healthcheck or, for the app image, the Dockerfile's HEALTHCHECK.
          const inherited = APP_SERVICES.includes(dependency) && instructions(finalStage, 'HEALTHCHECK').length > 0;
          expect(target!.healthcheck?.test !== undefined || inherited, `${dependency} has no healthcheck`).toBe(true);
          expect(target!.healthcheck?.disable).not.toBe(true);
        }
        if (condition === 'service_completed_successfully') expect(target!.healthcheck, dependency).toBeUndefined();
      }
    }
    // The services that inherit the image's check serve /health on their PORT (Yoga has one built in).
    expect(containerEnv('orders').PORT).toBeDefined();
  });

  it('gives every healthcheck an exec or shell test', () => {
    const checks = Object.entries(services).filter(([, service]) => service.healthcheck);
    expect(checks.map(([name]) => name).sort()).toEqual(['gateway', 'postgres', 'redis', 'sandbox']);
    for (const [name, service] of checks) {
      const test = service.healthcheck!.test;
      expect(Array.isArray(test), name).toBe(true);
      expect(['CMD', 'CMD-SHELL'], name).toContain((test as string[])[0]);
      expect((test as string[]).length, name).toBeGreaterThan(1);
    }
  });

  it('fails the sandbox healthcheck while any of the three sandboxes is down', async () => {
    // The probe's ports are rewritten to free ones: the real ones may be busy on this machine.
    const probe = (services.sandbox!.healthcheck!.test as string[])[3]!;
    const servers = await Promise.all([0, 1, 2].map(() => fakeServer('/', 404)));
    onTestFinished(() => {
      for (const { server } of servers) server.close();
    });
    const ports = servers.map(({ port }) => port);
    const rewritten = (list: number[]) => probe.replace(/\[\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\]/, JSON.stringify(list));
    expect(rewritten(ports)).not.toBe(probe);
    expect(await runNodeScript(rewritten(ports), {})).toBe(0);
    expect(await runNodeScript(rewritten([ports[0]!, ports[1]!, 1]), {})).toBe(1);
  });
});
