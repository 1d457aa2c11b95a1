-- Warehouse schema for the events pipeline (PostgreSQL 15).
-- Apply with: psql "$WAREHOUSE_URL" -f warehouse_ddl.sql

BEGIN;

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE IF NOT EXISTS raw.events (
    event_id        UUID PRIMARY KEY,
    event_type      TEXT        NOT NULL,
    user_id         BIGINT,
    session_id      TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload         JSONB       NOT NULL DEFAULT '{}'::jsonb,
    source_system   TEXT        NOT NULL DEFAULT 'web'
);

CREATE INDEX IF NOT EXISTS events_occurred_at_idx ON raw.events (occurred_at);
CREATE INDEX IF NOT EXISTS events_user_idx ON raw.events (user_id, occurred_at DESC);
CREATE INDEX IF NOT EXISTS events_type_idx ON raw.events (event_type);

CREATE TABLE IF NOT EXISTS raw.users (
    user_id         BIGINT PRIMARY KEY,
    email           TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    country_code    CHAR(2),
    marketing_opt_in BOOLEAN    NOT NULL DEFAULT false,
    deleted_at      TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS analytics.daily_active_users (
    activity_date   DATE        NOT NULL,
    country_code    CHAR(2)     NOT NULL DEFAULT 'ZZ',
    active_users    INTEGER     NOT NULL,
    new_users       INTEGER     NOT NULL,
    returning_users INTEGER     NOT NULL,
    PRIMARY KEY (activity_date, country_code)
);

CREATE OR REPLACE VIEW analytics.v_sessions AS
SELECT
    session_id,
    user_id,
    min(occurred_at) AS session_start,
    max(occurred_at) AS session_end,
    count(*) AS event_count,
    count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
    bool_or(event_type = 'purchase') AS converted
FROM raw.events
WHERE session_id IS NOT NULL
GROUP BY session_id, user_id;

CREATE OR REPLACE FUNCTION analytics.refresh_daily_active_users(target_date DATE)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM analytics.daily_active_users WHERE activity_date = target_date;

    INSERT INTO analytics.daily_active_users
        (activity_date, country_code, active_users, new_users, returning_users)
    SELECT
        target_date,
        coalesce(u.country_code, 'ZZ'),
        count(DISTINCT e.user_id),
        count(DISTINCT e.user_id) FILTER (WHERE u.created_at::date = target_date),
        count(DISTINCT e.user_id) FILTER (WHERE u.created_at::date < target_date)
    FROM raw.events e
    JOIN raw.users u USING (user_id)
    WHERE e.occurred_at >= target_date
      AND e.occurred_at < target_date + INTERVAL '1 day'
      AND u.deleted_at IS NULL
    GROUP BY 1, 2;
END;
$$;

GRANT USAGE ON SCHEMA analytics TO reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO reporting;

COMMIT;
