-- 002: replay-safe keys for dead letters and late events, written by the offline sink.
-- A record is identified by where it came from: (source, position) — a file path and byte offset,
-- or topic/partition and offset — and, for late events, the window (operator) it missed. A replay
-- after a crash rewrites the same entries, and ON CONFLICT … DO NOTHING keeps one of each.
-- Rows written before this migration have a NULL position and never conflict.

ALTER TABLE dead_letters
  ADD COLUMN position bigint  NULL,
  ADD COLUMN line     integer NULL,
  ADD COLUMN detail   text    NOT NULL DEFAULT '';

CREATE UNIQUE INDEX dead_letters_source_position ON dead_letters (source, position);

ALTER TABLE late_events
  ADD COLUMN source        text    NULL,
  ADD COLUMN position      bigint  NULL,
  ADD COLUMN line          integer NULL,
  ADD COLUMN feature_group text    NULL;

CREATE UNIQUE INDEX late_events_source_position_window ON late_events (source, position, operator_id);
