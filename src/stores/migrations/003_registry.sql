-- 003: the feature registry (one entry per catalog feature, synced from the code at start-up),
-- its changelog, the versions of each feature group, and version rollouts.

CREATE TABLE feature_registry (
  id                    text             PRIMARY KEY,
  name                  text             NOT NULL,
  category              text             NOT NULL,
  entity                text             NOT NULL,
  feature_group         text             NOT NULL,
  description           text             NOT NULL,
  computation           text             NOT NULL,
  source                text[]           NOT NULL,
  "window"              text             NULL,
  version               integer          NOT NULL,
  validation_min        double precision NOT NULL,
  validation_max        double precision NOT NULL,
  nullable              boolean          NOT NULL,
  value_names           text[]           NOT NULL,
  freshness_sla_seconds integer          NOT NULL,
  owner                 text             NOT NULL,
  tags                  text[]           NOT NULL,
  active                boolean          NOT NULL DEFAULT true,
  created_at            timestamptz      NOT NULL DEFAULT now(),
  updated_at            timestamptz      NOT NULL DEFAULT now()
);

CREATE INDEX feature_registry_name ON feature_registry (name);
CREATE INDEX feature_registry_group ON feature_registry (feature_group);

-- What changed and when: `diff` is {field: {from, to}} ({} for deactivated/reactivated, the whole
-- entry's fields as {field: {from: null, to}} for added).
CREATE TABLE feature_registry_changelog (
  id         bigserial   PRIMARY KEY,
  feature_id text        NOT NULL,
  change     text        NOT NULL CHECK (change IN ('added', 'changed', 'deactivated', 'reactivated')),
  diff       jsonb       NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX feature_registry_changelog_feature ON feature_registry_changelog (feature_id, changed_at);

-- A version of a group is one topology's output (`v2` is written beside `v1`).
CREATE TABLE feature_group_versions (
  feature_group text        NOT NULL,
  version       integer     NOT NULL CHECK (version > 0),
  topology      text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  status        text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'shadow', 'retired')),
  PRIMARY KEY (feature_group, version)
);

-- The share of traffic each version of a group gets (by a stable hash of the user id). `position`
-- keeps the arms in the order they were given: the assignment walks cumulative shares in order.
CREATE TABLE feature_rollouts (
  feature_group text             NOT NULL,
  version       integer          NOT NULL,
  share         double precision NOT NULL CHECK (share > 0 AND share <= 1),
  position      integer          NOT NULL,
  updated_at    timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (feature_group, version),
  FOREIGN KEY (feature_group, version) REFERENCES feature_group_versions (feature_group, version)
);
