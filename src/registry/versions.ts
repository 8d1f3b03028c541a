import { ConfigError } from '../shared/errors.js';
import { quoteIdent } from '../stores/migrate.js';
import type { SqlClient } from '../stores/sql-client.js';
import { type RolloutArm, validateRollout } from './rollout.js';

/** Lifecycle of a group version: served (`active`), computed but not served (`shadow`), or `retired`. */
export type GroupVersionStatus = 'active' | 'shadow' | 'retired';

const STATUSES: readonly GroupVersionStatus[] = ['active', 'shadow', 'retired'];

/** One version of a feature group: the output of one topology. */
export interface GroupVersion {
  readonly group: string;
  readonly version: number;
  readonly topology: string;
  readonly createdAt: number;
  readonly status: GroupVersionStatus;
}

interface Row {
  feature_group: string;
  version: number;
  topology: string;
  created_at: Date;
  status: GroupVersionStatus;
}

const versionOf = (r: Row): GroupVersion => ({
  group: r.feature_group,
  version: r.version,
  topology: r.topology,
  createdAt: r.created_at.getTime(),
  status: r.status,
});

/**
 * Records that `topology` writes `version` of `group` (idempotent: an existing version is left as
 * it is and returned, with `created: false` — compare its `topology` to detect a clash).
 *
 * @example
 * await registerGroupVersion(store.client, { group: 'perf_5min', version: 2, topology: 'llm-features-v2' });
 * // { group: 'perf_5min', version: 2, topology: 'llm-features-v2', status: 'active', created: true, … }
 */
export async function registerGroupVersion(
  client: SqlClient,
  v: { group: string; version: number; topology: string; status?: GroupVersionStatus },
): Promise<GroupVersion & { created: boolean }> {
  if (!Number.isSafeInteger(v.version) || v.version < 1) {
    throw new ConfigError(`group version must be a positive integer, got ${v.version}`, { field: 'version' });
  }
  const status = checkStatus(v.status ?? 'active');
  const s = quoteIdent(client.schema);
  return client.transaction('registerGroupVersion', async (tx) => {
    const ins = await tx.query<Row>(
      `INSERT INTO ${s}.feature_group_versions (feature_group, version, topology, status)
       VALUES ($1, $2::int, $3, $4) ON CONFLICT (feature_group, version) DO NOTHING
       RETURNING feature_group, version, topology, created_at, status`,
      [v.group, v.version, v.topology, status],
    );
    if (ins.rows[0] !== undefined) return { ...versionOf(ins.rows[0]), created: true };
    const cur = await tx.query<Row>(
      `SELECT feature_group, version, topology, created_at, status FROM ${s}.feature_group_versions
        WHERE feature_group = $1 AND version = $2::int`,
      [v.group, v.version],
    );
    return { ...versionOf(cur.rows[0]!), created: false };
  });
}

/**
 * Changes a version's status. Throws {@link ConfigError} for an unknown version.
 *
 * @example
 * await setGroupVersionStatus(store.client, 'perf_5min', 1, 'retired');
 */
export async function setGroupVersionStatus(
  client: SqlClient,
  group: string,
  version: number,
  status: GroupVersionStatus,
): Promise<void> {
  checkStatus(status);
  const s = quoteIdent(client.schema);
  const res = await client.query(
    'setGroupVersionStatus',
    `UPDATE ${s}.feature_group_versions SET status = $3 WHERE feature_group = $1 AND version = $2::int`,
    [group, version, status],
  );
  if (res.rowCount === 0) {
    throw new ConfigError(`group ${group} has no version ${version}`, { field: 'version' });
  }
}

/**
 * The registered versions, of one group or all, by group then version.
 *
 * @example
 * await listGroupVersions(store.client, 'perf_5min'); // [{ version: 1, … }, { version: 2, … }]
 */
export async function listGroupVersions(client: SqlClient, group?: string): Promise<GroupVersion[]> {
  const s = quoteIdent(client.schema);
  const res = await client.query<Row>(
    'listGroupVersions',
    `SELECT feature_group, version, topology, created_at, status FROM ${s}.feature_group_versions
      ${group === undefined ? '' : 'WHERE feature_group = $1'} ORDER BY feature_group, version`,
    group === undefined ? [] : [group],
  );
  return res.rows.map(versionOf);
}

/**
 * Replaces the rollout of `group`: validated first (at least one arm, distinct positive versions,
 * shares in (0, 1] summing to 1 — {@link validateRollout}), every version must be registered and
 * not retired; then written in one transaction, keeping the arms' order (which
 * {@link assignVersion} walks).
 *
 * @example
 * await setRollout(store.client, 'perf_5min', [{ version: 1, share: 0.9 }, { version: 2, share: 0.1 }]);
 */
export async function setRollout(
  client: SqlClient,
  group: string,
  arms: readonly RolloutArm[],
): Promise<void> {
  validateRollout(arms, `rollout.${group}`);
  const s = quoteIdent(client.schema);
  await client.transaction('setRollout', async (tx) => {
    const known = await tx.query<{ version: number; status: GroupVersionStatus }>(
      `SELECT version, status FROM ${s}.feature_group_versions WHERE feature_group = $1`,
      [group],
    );
    const status = new Map(known.rows.map((r) => [r.version, r.status]));
    for (const arm of arms) {
      const st = status.get(arm.version);
      if (st === undefined) {
        throw new ConfigError(`rollout.${group}: version ${arm.version} of ${group} is not registered`, {
          field: `rollout.${group}`,
        });
      }
      if (st === 'retired') {
        throw new ConfigError(`rollout.${group}: version ${arm.version} of ${group} is retired`, {
          field: `rollout.${group}`,
        });
      }
    }
    await tx.query(`DELETE FROM ${s}.feature_rollouts WHERE feature_group = $1`, [group]);
    for (const [i, arm] of arms.entries()) {
      await tx.query(
        `INSERT INTO ${s}.feature_rollouts (feature_group, version, share, position) VALUES ($1, $2::int, $3::float8, $4::int)`,
        [group, arm.version, arm.share, i],
      );
    }
  });
}

/**
 * The rollout of `group` in its arms' order, or `[]` when none is set (serve the default version).
 *
 * @example
 * await getRollout(store.client, 'perf_5min'); // [{ version: 1, share: 0.9 }, { version: 2, share: 0.1 }]
 */
export async function getRollout(client: SqlClient, group: string): Promise<RolloutArm[]> {
  const s = quoteIdent(client.schema);
  const res = await client.query<{ version: number; share: number }>(
    'getRollout',
    `SELECT version, share FROM ${s}.feature_rollouts WHERE feature_group = $1 ORDER BY position`,
    [group],
  );
  return res.rows.map((r) => ({ version: r.version, share: r.share }));
}

function checkStatus(status: string): GroupVersionStatus {
  if (!(STATUSES as readonly string[]).includes(status)) {
    throw new ConfigError(`group version status must be one of ${STATUSES.join(', ')}, got "${status}"`, {
      field: 'status',
    });
  }
  return status as GroupVersionStatus;
}
