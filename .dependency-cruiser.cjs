/**
 * The layer rules of DESIGN.md §3, checked by `npm run lint` (arrows point inward: schema and
 * workers call the domain's services; db implements its ports and knows no GraphQL; the logger
 * knows no provider; no import cycles). A violation fails the lint: fix the arrow, don't exempt it.
 * Type-only imports count like any other: a type pulled from the wrong layer is still a wrong arrow.
 */
/** GraphQL modules: the graphql packages, Pothos, the schema and what encodes GraphQL ids. */
const graphqlModules = [
  "^node_modules/(graphql|graphql-yoga|graphql-ws|@pothos|@apollo|@graphql-yoga|@envelop)/",
  "^src/schema/",
  "^src/builder\\.ts$",
  "^src/webhooks/events\\.ts$",
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle makes load order matter and the layers meaningless.",
      from: {},
      to: { circular: true },
    },
    {
      name: "domain-is-inward",
      severity: "error",
      comment:
        "src/domain imports no other module of the project (ports.ts declares what it needs); libraries are fine.",
      from: { path: "^src/domain/" },
      to: { path: "^src/", pathNot: "^src/domain/" },
    },
    {
      name: "db-knows-no-graphql",
      severity: "error",
      comment: "Persistence knows no GraphQL: ids and payloads shaped for the API are injected.",
      from: { path: "^src/db/" },
      to: { path: graphqlModules },
    },
    {
      name: "db-knows-no-graphql-transitively",
      severity: "error",
      comment: "Nor through a module that encodes GraphQL global ids (@pothos/plugin-relay).",
      from: { path: "^src/db/" },
      to: { reachable: true, path: "^node_modules/@pothos/plugin-relay/" },
    },
    {
      name: "resolvers-through-services",
      severity: "error",
      comment:
        "Resolvers reach persistence only through the domain's services (type their parents with the domain's records).",
      from: { path: "^src/schema/" },
      to: { path: "^src/db/", pathNot: "^src/db/schema\\.ts$" },
    },
    {
      name: "resolvers-only-type-rows",
      severity: "error",
      comment:
        "A resolver may name a stored row's type (db/schema.ts: Drizzle's inferred row shapes; type-only, so nothing of db/ is loaded or callable), never import a value from db/.",
      from: { path: "^src/schema/" },
      to: { path: "^src/db/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "context-holds-no-store",
      severity: "error",
      comment:
        "The per-operation Context hands resolvers the domain's services (CheckoutQueries for pages and fresh reads), never a store of db/.",
      from: { path: "^src/context\\.ts$" },
      to: { path: "^src/db/" },
    },
    {
      name: "logger-knows-no-provider",
      severity: "error",
      comment:
        "Creating a logger must not load every provider and sandbox (directly or through another module).",
      from: { path: "^src/logger\\.ts$" },
      to: { reachable: true, path: "^src/providers/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
