-- 001: feature values (partitioned by month on event_time), dead letters, late events.
-- Applied with search_path set to the store's schema, so names here are unqualified.

CREATE TABLE feature_values (
  entity_type   text        NOT NULL,
  entity_id     text        NOT NULL,
  feature_group text        NOT NULL,
  version       integer     NOT NULL,
  window_start  timestamptz NULL,
  window_end    timestamptz NULL,
  event_time    timestamptz NOT NULL,
  revision      integer     NOT NULL DEFAULT 0,
  "values"      jsonb       NOT NULL,
  computed_at   timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (event_time);

-- The spec's key is (feature_group, entity_type, entity_id, version, window_end). PostgreSQL
-- requires a unique index on a partitioned table to contain the partition key, so event_time is
-- added; for windowed rows event_time = window_end - 1 ms, so the key is the same in effect.
CREATE UNIQUE INDEX feature_values_window_key
  ON feature_values (feature_group, entity_type, entity_id, version, window_end, event_time)
  WHERE window_end IS NOT NULL;

-- Rows without a window (per-event features) are keyed by their event time.
CREATE UNIQUE INDEX feature_values_event_key
  ON feature_values (feature_group, entity_type, entity_id, version, event_time)
  WHERE window_end IS NULL;

-- Point-in-time lookups: latest event_time <= t per entity and group.
CREATE INDEX feature_values_pit
  ON feature_values (entity_type, entity_id, feature_group, version, event_time DESC);

CREATE TABLE dead_letters (
  id          bigserial   PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text        NOT NULL,
  reason      text        NOT NULL,
  payload     text        NOT NULL
);

CREATE TABLE late_events (
  id          bigserial   PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  operator_id text        NOT NULL,
  event_time  timestamptz NOT NULL,
  payload     text        NOT NULL
);
