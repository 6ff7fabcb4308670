# The checkout graph API. `npm run build` compiles src/ to dist/ in the `build` stage; the image runs
# `node dist/main.js` as PID 1 on Node 24 (the Node version README names first).
#
#   docker build -t checkout-graph .                 # the API (final stage, `runtime`)
#   docker build --target tools -t checkout-graph-tools .   # + dev dependencies (`npm run supergraph`)
#
# compose.yaml builds both and runs the whole scale-out topology. Only classic Dockerfile syntax
# is used (no `# syntax=` line), so the legacy builder and offline BuildKit both read it.

# --- deps: production dependencies only, from the lockfile. Only the two package files are copied,
# so editing sources reuses this layer; `npm ci` honours the lockfile (and package.json overrides).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall applies these with patch-package (patches/README.md says why each exists).
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- tools: every dependency, for one-shot jobs that need devDependencies. `npm run supergraph`
# composes with @theguild/federation-composition, a devDependency, so it cannot run in `runtime`.
FROM deps AS tools
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY examples/orders ./examples/orders
COPY scripts ./scripts
# compose.yaml mounts an empty named volume here; Docker seeds a new volume with the image's
# ownership, so the non-root user can write the supergraph into it.
RUN mkdir -p /supergraph && chown node:node /supergraph
USER node
CMD ["node", "--import", "tsx", "scripts/compose-supergraph.ts"]

# --- build: `npm run build` with the tools' dependencies (TypeScript is a devDependency): dist/ is
# the compiled JavaScript, with the SQL migrations beside dist/db/client.js.
FROM tools AS build
USER root
COPY tsconfig.build.json ./
RUN npm run build

# --- runtime: the API image. Files are owned by root and only readable by the app user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json is read at run time (the webhook User-Agent's version, from dist/workers/../../).
COPY package.json package-lock.json tsconfig.json ./
# The API: compiled JavaScript, dist/db/migrations (SQL + journal) next to dist/db/client.js.
COPY --from=build /app/dist ./dist
# The sources stay for the one-shot entry points compose.yaml runs through tsx (a runtime
# dependency): the provider sandboxes (src/sandbox.ts) and the orders example below.
COPY src ./src
# The example orders subgraph runs from this image too (compose service `orders`).
COPY examples/orders ./examples/orders
# DATA_DIR is PGlite's folder when DATABASE_URL is unset: the only place the app writes.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
# node:24-bookworm-slim has no curl; Node's fetch does it. /health is 200 only while the database
# answers. PORT is read at check time, so a container started with another PORT is checked there.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM reaches dist/main.js, which drains and stops gracefully;
# no TypeScript is compiled at start.
CMD ["node", "dist/main.js"]
