/**
 * `featurestream init DIR`: a starter project that runs as written — a schema plugin with its
 * JSON Schema, a topology file, a few sample events and a short README (modelled on
 * examples/clickstream/).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../shared/errors.js';

const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'order event',
  description: 'One event of a shop: an order placed or refunded by a user.',
  type: 'object',
  required: ['event_id', 'type', 'ts', 'user_id', 'amount'],
  properties: {
    event_id: { type: 'string', minLength: 1 },
    type: { enum: ['order_placed', 'order_refunded'] },
    ts: { type: 'string', description: 'event time, RFC 3339' },
    user_id: { type: 'string', minLength: 1 },
    amount: { type: 'number', minimum: 0, description: 'order value' },
  },
};

/**
 * \`import.meta.url\` spelled so that the bundler (scripts/bundle.mjs rewrites every occurrence in
 * a module's text to the module's own file) leaves the plugin's text alone.
 */
const META_URL = ['import', 'meta', 'url'].join('.');

const PLUGIN = `/**
 * The plugin of this project: the event schema (a JSON Schema, ./schema.json) and the user
 * functions topology.yaml names. A plain ES module that imports nothing from featurestream
 * (docs/topology-files.md in featurestream, "Your own events: a schema plugin").
 */
import { readFileSync } from 'node:fs';

const jsonSchema = JSON.parse(readFileSync(new URL('./schema.json', ${META_URL}), 'utf8'));

/** Any order event → its user; the amount, and whether it is a refund. */
const orderExtract = {
  description: 'order event → user_id; amount, is_refund',
  fields: ['amount', 'is_refund'],
  attributes: ['user_id'],
  create: () => (e) => ({
    attrs: { user_id: e.body.user_id },
    values: { amount: e.body.amount, is_refund: e.type === 'order_refunded' },
  }),
};

export default {
  name: 'orders',
  schemas: {
    orders: {
      description: 'order events (schema.json)',
      jsonSchema,
      eventTime: 'ts',
      timeFormat: 'rfc3339',
      eventType: 'type',
    },
  },
  maps: { 'order-extract': orderExtract },
};
`;

const TOPOLOGY = `# Per-user order features in 1-hour event-time windows. The events follow the plugin's own
# schema (\`orders\`, schema.json); the extractor is the plugin's too.
#
#   featurestream run --topology topology.yaml --plugin plugin.js --input events.ndjson --out rows.ndjson
schemaVersion: 1
name: orders
description: Per-user order counts, value and refund share per hour
nodes:
  - { id: events, kind: source, inputs: [] }
  - { id: decoded, kind: decode, inputs: [events], schema: orders }
  - id: extract
    kind: map
    inputs: [decoded]
    fn: order-extract
    fields: [amount, is_refund]
    attributes: [user_id]
  - { id: by_user, kind: keyBy, inputs: [extract], key: user_id }
  - id: user_1hr
    kind: window
    inputs: [by_user]
    key: user_id
    window: { type: tumbling, size: 3600000 } # 1 h
    lateness: 60000 # a record up to 1 min late re-fires its window
    outOfOrderness: 60000
    group: user_1hr
    entityType: user
    version: 1
    features:
      - { id: ORD_001, name: orders_1hr, description: Order events in the hour, agg: { type: count } }
      - id: ORD_002
        name: order_value_1hr
        description: Sum of the amounts in the hour
        agg: { type: sum, field: amount }
        validation: { min: 0 }
      - id: ORD_003
        name: refund_share_1hr
        description: Share of the hour's events that are refunds
        agg: { type: ratio, num: is_refund }
        validation: { min: 0, max: 1 }
  - { id: features, kind: sink, inputs: [user_1hr] }
`;

const README = `# orders: a featurestream starter project

- \`schema.json\`: the events, as a JSON Schema (an order placed or refunded).
- \`plugin.js\`: the schema plugin: the schema, its event-time and event-type fields, and the
  \`order-extract\` map the topology names.
- \`topology.yaml\`: per user, 1-hour tumbling windows: order count, order value, refund share.
- \`events.ndjson\`: a few sample events (one malformed, to show the dead letters).

Run it from this directory:

\`\`\`sh
featurestream run --topology topology.yaml --plugin plugin.js --input events.ndjson --out rows.ndjson --dead-letters dead.ndjson
featurestream features list --topology topology.yaml --plugin plugin.js
\`\`\`

To serve the features, write them to the embedded stores and start the server:

\`\`\`sh
featurestream run --topology topology.yaml --plugin plugin.js --input events.ndjson --online embedded --offline embedded --state-dir .featurestream/state --fresh
featurestream serve --topology topology.yaml --plugin plugin.js
\`\`\`

Then \`curl 'localhost:8080/features/user/u-1?features=orders_1hr,order_value_1hr'\`. Change the
schema, the plugin and the topology to your events; \`featurestream topology show --topology
topology.yaml --plugin plugin.js --format mermaid\` draws the graph.
`;

/** A few deterministic sample events over three hours, three users, and one malformed line. */
function sampleEvents(): string {
  const lines: string[] = [];
  const start = Date.parse('2026-03-02T08:00:00Z');
  for (let i = 0; i < 30; i++) {
    const user = `u-${(i % 3) + 1}`;
    const refund = i % 7 === 6;
    lines.push(
      JSON.stringify({
        event_id: `ev-${String(i).padStart(3, '0')}`,
        type: refund ? 'order_refunded' : 'order_placed',
        ts: new Date(start + i * 6 * 60_000 + (i % 5) * 17_000).toISOString(),
        user_id: user,
        amount: Math.round((12 + ((i * 37) % 90)) * 100) / 100,
      }),
    );
  }
  // Missing its amount: it goes to the dead letters with reason code and line.
  lines.splice(
    12,
    0,
    JSON.stringify({ event_id: 'ev-bad', type: 'order_placed', ts: '2026-03-02T09:10:00Z', user_id: 'u-2' }),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Adds `init DIR` to the command line: writes the starter project into DIR (created; refused
 * with exit 2 when DIR exists and is not empty).
 *
 * @example
 * registerInitCommand(program); // featurestream init my-features
 */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'Write a starter project into DIR: a schema plugin with its JSON Schema, a topology file, a few\n' +
        'sample events and a README whose commands run as written',
    )
    .argument('<dir>', 'the new project directory (must not exist, or be empty)')
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  featurestream init my-features && cd my-features\n' +
        '  featurestream run --topology topology.yaml --plugin plugin.js --input events.ndjson --out rows.ndjson',
    )
    .action((dir: string) => {
      const abs = resolve(dir);
      if (existsSync(abs) && readdirSync(abs).length > 0)
        throw new ConfigError(`init: ${abs} exists and is not empty: choose a new directory`, {
          field: 'DIR',
        });
      mkdirSync(abs, { recursive: true });
      const files: [string, string][] = [
        ['schema.json', `${JSON.stringify(SCHEMA, null, 2)}\n`],
        ['plugin.js', PLUGIN],
        ['topology.yaml', TOPOLOGY],
        ['events.ndjson', sampleEvents()],
        ['README.md', README],
      ];
      for (const [name, text] of files) writeFileSync(join(abs, name), text);
      process.stdout.write(
        `wrote a starter project to ${abs}: ${files.map(([n]) => n).join(', ')}\n` +
          `next:\n  cd ${dir}\n  npx featurestream run --topology topology.yaml --plugin plugin.js --input events.ndjson --out rows.ndjson --dead-letters dead.ndjson\n`,
      );
    });
}
