import type { FeatureDef } from './feature-set.js';
import { ConfigError } from '../shared/errors.js';
import { quoteIdent } from '../stores/migrate.js';
import type { SqlClient, SqlSession } from '../stores/sql-client.js';

/** A registry entry: every field of a {@link FeatureDef}, plus whether the code still defines it. */
export interface RegistryEntry {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly entity: string;
  readonly group: string;
  readonly description: string;
  readonly computation: string;
  readonly source: readonly string[];
  readonly window: string | null;
  readonly version: number;
  readonly validation: { readonly min: number; readonly max: number; readonly nullable: boolean };
  readonly valueNames: readonly string[];
  readonly freshnessSlaSeconds: number;
  readonly owner: string;
  readonly tags: readonly string[];
  /** False once the feature left the code's catalog (kept for history, never deleted). */
  readonly active: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One field's change: `{ from, to }` (non-finite numbers as strings, e.g. `"Infinity"`). */
export type FieldChange = { readonly from: unknown; readonly to: unknown };

/** One changelog line. */
export interface ChangelogEntry {
  readonly featureId: string;
  readonly change: 'added' | 'changed' | 'deactivated' | 'reactivated';
  /** Field → change; for `added`, every field with `from: null`; `{}` for (de)activation alone. */
  readonly diff: Readonly<Record<string, FieldChange>>;
  readonly changedAt: number;
}

/** What {@link syncRegistry} did. */
export interface RegistrySyncResult {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly deactivated: readonly string[];
  readonly reactivated: readonly string[];
  readonly unchanged: number;
}

/** The comparable fields of an entry, in a fixed order, named as in FeatureDef. */
type Fields = Record<string, string | number | boolean | null | readonly string[]>;

function fieldsOf(f: Omit<RegistryEntry, 'active' | 'createdAt' | 'updatedAt'> | FeatureDef): Fields {
  return {
    name: f.name,
    category: f.category,
    entity: f.entity,
    group: f.group,
    description: f.description,
    computation: f.computation,
    source: [...f.source],
    window: f.window,
    version: f.version,
    'validation.min': f.validation.min,
    'validation.max': f.validation.max,
    'validation.nullable': f.validation.nullable,
    valueNames: [...f.valueNames],
    freshnessSlaSeconds: f.freshnessSlaSeconds,
    owner: f.owner,
    tags: [...f.tags],
  };
}

function same(a: Fields[string], b: Fields[string]): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  return Object.is(a, b);
}

/** JSON-safe: non-finite numbers become strings. */
function jsonSafe(v: Fields[string] | undefined): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : (v ?? null);
}

interface Row {
  id: string;
  name: string;
  category: string;
  entity: string;
  feature_group: string;
  description: string;
  computation: string;
  source: string[];
  window: string | null;
  version: number;
  validation_min: number;
  validation_max: number;
  nullable: boolean;
  value_names: string[];
  freshness_sla_seconds: number;
  owner: string;
  tags: string[];
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

function entryOf(r: Row): RegistryEntry {
  return {
    id: r.id,
    name: r.name,
    category: r.category,
    entity: r.entity,
    group: r.feature_group,
    description: r.description,
    computation: r.computation,
    source: r.source,
    window: r.window,
    version: r.version,
    validation: { min: r.validation_min, max: r.validation_max, nullable: r.nullable },
    valueNames: r.value_names,
    freshnessSlaSeconds: r.freshness_sla_seconds,
    owner: r.owner,
    tags: r.tags,
    active: r.active,
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
  };
}

const COLUMNS =
  'id, name, category, entity, feature_group, description, computation, source, "window", version, ' +
  'validation_min, validation_max, nullable, value_names, freshness_sla_seconds, owner, tags';

function paramsOf(f: FeatureDef): unknown[] {
  return [
    f.id,
    f.name,
    f.category,
    f.entity,
    f.group,
    f.description,
    f.computation,
    [...f.source],
    f.window,
    f.version,
    String(f.validation.min),
    String(f.validation.max),
    f.validation.nullable,
    [...f.valueNames],
    f.freshnessSlaSeconds,
    f.owner,
    [...f.tags],
  ];
}

const PLACEHOLDERS =
  '$1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10::int, $11::float8, $12::float8, $13::boolean, ' +
  '$14::text[], $15::int, $16, $17::text[]';

/**
 * Brings the registry (`feature_registry`) in line with a topology's features (`featureSet(t)
 * .features`), in one transaction under an advisory lock (concurrent starters do not race): new
 * features are inserted, changed ones updated, features of the synced groups that the topology
 * no longer defines marked inactive (never deleted; groups of other topologies sharing the store
 * are left alone), and inactive ones it defines again reactivated. Each of these writes one `feature_registry_changelog`
 * line saying what changed; an unchanged feature writes nothing, so syncing twice is a no-op.
 *
 * @example
 * const r = await syncRegistry(store.client, llmFeatureSet().features);
 * // first start: { added: ['REQ_001', …], changed: [], deactivated: [], reactivated: [], unchanged: 0 }
 */
export async function syncRegistry(
  client: SqlClient,
  catalog: readonly FeatureDef[],
): Promise<RegistrySyncResult> {
  const s = quoteIdent(client.schema);
  const ids = new Set<string>();
  const groups = new Set(catalog.map((f) => f.group));
  for (const f of catalog) {
    if (ids.has(f.id)) throw new ConfigError(`catalog lists ${f.id} twice`, { field: 'catalog' });
    ids.add(f.id);
  }
  return client.transaction('syncRegistry', async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`featurestream-registry:${client.schema}`]);
    const res = await tx.query<Row>(`SELECT * FROM ${s}.feature_registry`);
    const current = new Map(res.rows.map((r) => [r.id, entryOf(r)]));
    const added: string[] = [];
    const changed: string[] = [];
    const deactivated: string[] = [];
    const reactivated: string[] = [];
    let unchanged = 0;
    const log = (id: string, change: ChangelogEntry['change'], diff: Record<string, FieldChange>) =>
      tx.query(
        `INSERT INTO ${s}.feature_registry_changelog (feature_id, change, diff) VALUES ($1, $2, $3::jsonb)`,
        [id, change, JSON.stringify(diff)],
      );
    for (const f of catalog) {
      const cur = current.get(f.id);
      const next = fieldsOf(f);
      if (cur === undefined) {
        await tx.query(
          `INSERT INTO ${s}.feature_registry (${COLUMNS}) VALUES (${PLACEHOLDERS})`,
          paramsOf(f),
        );
        const diff: Record<string, FieldChange> = {};
        for (const [k, v] of Object.entries(next)) diff[k] = { from: null, to: jsonSafe(v) };
        await log(f.id, 'added', diff);
        added.push(f.id);
        continue;
      }
      const prev = fieldsOf(cur);
      const diff: Record<string, FieldChange> = {};
      for (const [k, v] of Object.entries(next)) {
        if (!same(prev[k]!, v)) diff[k] = { from: jsonSafe(prev[k]), to: jsonSafe(v) };
      }
      const fieldsChanged = Object.keys(diff).length > 0;
      if (!fieldsChanged && cur.active) {
        unchanged++;
        continue;
      }
      await updateEntry(tx, s, f);
      if (!cur.active) {
        await log(f.id, 'reactivated', diff);
        reactivated.push(f.id);
      } else {
        await log(f.id, 'changed', diff);
        changed.push(f.id);
      }
    }
    for (const cur of current.values()) {
      if (ids.has(cur.id) || !cur.active || !groups.has(cur.group)) continue;
      await tx.query(`UPDATE ${s}.feature_registry SET active = false, updated_at = now() WHERE id = $1`, [
        cur.id,
      ]);
      await log(cur.id, 'deactivated', {});
      deactivated.push(cur.id);
    }
    return { added, changed, deactivated, reactivated, unchanged };
  });
}

async function updateEntry(tx: SqlSession, s: string, f: FeatureDef): Promise<void> {
  const sets = COLUMNS.split(', ')
    .slice(1)
    .map((col, i) => `${col} = ${PLACEHOLDERS.split(', ')[i + 1]}`)
    .join(', ');
  await tx.query(
    `UPDATE ${s}.feature_registry SET ${sets}, active = true, updated_at = now() WHERE id = $1`,
    paramsOf(f),
  );
}

/**
 * The registry's entries, in id order (only active ones unless `includeInactive`).
 *
 * @example
 * const entries = await readRegistry(store.client);
 * entries.find((e) => e.id === 'PERF_002')?.valueNames; // ['latency_p95_5min']
 */
export async function readRegistry(
  client: SqlClient,
  options: { includeInactive?: boolean } = {},
): Promise<RegistryEntry[]> {
  const s = quoteIdent(client.schema);
  const res = await client.query<Row>(
    'readRegistry',
    `SELECT * FROM ${s}.feature_registry ${options.includeInactive ? '' : 'WHERE active'} ORDER BY id`,
  );
  return res.rows.map(entryOf);
}

/**
 * The changelog, oldest first, of one feature or of all.
 *
 * @example
 * await readChangelog(store.client, 'PERF_002'); // [{ change: 'added', … }, { change: 'changed', diff: { description: … } }]
 */
export async function readChangelog(client: SqlClient, featureId?: string): Promise<ChangelogEntry[]> {
  const s = quoteIdent(client.schema);
  const res = await client.query<{
    feature_id: string;
    change: ChangelogEntry['change'];
    diff: Record<string, FieldChange>;
    changed_at: Date;
  }>(
    'readChangelog',
    `SELECT feature_id, change, diff, changed_at FROM ${s}.feature_registry_changelog
      ${featureId === undefined ? '' : 'WHERE feature_id = $1'} ORDER BY id`,
    featureId === undefined ? [] : [featureId],
  );
  return res.rows.map((r) => ({
    featureId: r.feature_id,
    change: r.change,
    diff: r.diff,
    changedAt: r.changed_at.getTime(),
  }));
}
