/**
 * The layers, checked in `npm run lint` (docs/architecture.md):
 *   engine   topology/, operators/, state/, src/runtime/, src/connectors/
 *   shared   src/shared/ (errors, flags, time parsing, paths: every layer may import it)
 *   platform src/stores, serve, registry, drift, quality, replay, ui, monitoring
 *   domains  src/domains/<name>/ (plug in through operators/plugins.ts, the public plugin API)
 *   cli      src/cli/ (the only place that wires engine, platform and domains together)
 */
const ENGINE = '^(topology|operators|state|src/runtime|src/connectors)/';
const PLATFORM = '^src/(stores|serve|registry|drift|quality|replay|ui|monitoring)/';
const DOMAINS = '^src/domains/';
const CLI = '^src/cli/';
const TESTS = '(\\.test\\.ts$|^test/|test-support\\.ts$|-conformance\\.ts$|^bench/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'engine-knows-no-domain',
      comment: 'The engine imports nothing from the domains, the platform or the command line.',
      severity: 'error',
      from: { path: ENGINE, pathNot: TESTS },
      to: { path: [DOMAINS, PLATFORM, CLI] },
    },
    {
      name: 'shared-imports-only-shared',
      comment: 'src/shared/ is imported by every layer, so it imports none of them.',
      severity: 'error',
      from: { path: '^src/shared/', pathNot: TESTS },
      to: { path: [ENGINE, PLATFORM, DOMAINS, CLI] },
    },
    {
      name: 'platform-knows-no-domain',
      comment:
        'The platform takes feature sets, schemas and routes from what it is given (the topology, ' +
        'registered plugins and their extensions), never from a domain.',
      severity: 'error',
      from: { path: PLATFORM, pathNot: TESTS },
      to: { path: [DOMAINS, CLI] },
    },
    {
      name: 'domains-through-public-entries',
      comment: "A domain uses another domain only through that domain's index.ts.",
      severity: 'error',
      from: { path: '^src/domains/([^/]+)/', pathNot: TESTS },
      to: { path: '^src/domains/', pathNot: ['^src/domains/$1/', '^src/domains/[^/]+/index\\.ts$'] },
    },
    {
      name: 'domains-use-public-entries',
      comment:
        'A domain builds on the engine through operators/index.ts and topology/index.ts (the ' +
        'plugin API and the operator library), and on the platform through its public modules.',
      severity: 'error',
      from: { path: DOMAINS, pathNot: TESTS },
      to: {
        path: [ENGINE, PLATFORM],
        pathNot: [
          '^(operators|topology)/index\\.ts$',
          '^src/serve/extensions\\.ts$',
          '^src/registry/feature-set\\.ts$',
          '^src/stores/online-store\\.ts$',
        ],
      },
    },
    {
      name: 'domains-do-not-wire',
      comment: 'A domain plugs in; it does not import the command line.',
      severity: 'error',
      from: { path: DOMAINS, pathNot: TESTS },
      to: { path: CLI },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles at run time.',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|examples)/' },
    // Type-only imports vanish at compile time: they do not make runtime cycles.
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
