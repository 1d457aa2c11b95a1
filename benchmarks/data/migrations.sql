-- 2024_03_add_subscription_tables.sql
-- Adds subscriptions and invoices; backfills plan names from the legacy table.

ALTER TABLE billing.customers
    ADD COLUMN IF NOT EXISTS billing_email TEXT,
    ADD COLUMN IF NOT EXISTS tax_id TEXT,
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE TABLE billing.plans (
    plan_id       SERIAL PRIMARY KEY,
    plan_code     TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    monthly_cents INTEGER NOT NULL CHECK (monthly_cents >= 0),
    is_active     BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE billing.subscriptions (
    subscription_id BIGSERIAL PRIMARY KEY,
    customer_id     BIGINT NOT NULL REFERENCES billing.customers (customer_id),
    plan_id         INTEGER NOT NULL REFERENCES billing.plans (plan_id),
    started_at      TIMESTAMPTZ NOT NULL,
    cancelled_at    TIMESTAMPTZ,
    trial_ends_at   TIMESTAMPTZ,
    CONSTRAINT subscriptions_dates_ck CHECK (cancelled_at IS NULL OR cancelled_at >= started_at)
);

CREATE INDEX subscriptions_customer_idx ON billing.subscriptions (customer_id);
CREATE INDEX subscriptions_active_idx ON billing.subscriptions (plan_id) WHERE cancelled_at IS NULL;

CREATE TABLE billing.invoices (
    invoice_id      BIGSERIAL PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES billing.subscriptions (subscription_id),
    period_start    DATE NOT NULL,
    period_end      DATE NOT NULL,
    amount_cents    INTEGER NOT NULL,
    currency        CHAR(3) NOT NULL DEFAULT 'EUR',
    status          TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'paid', 'void', 'uncollectible')),
    issued_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO billing.plans (plan_code, display_name, monthly_cents)
SELECT DISTINCT
    lower(replace(legacy.plan_name, ' ', '_')) AS plan_code,
    legacy.plan_name AS display_name,
    legacy.price_cents AS monthly_cents
FROM billing.legacy_accounts AS legacy
WHERE legacy.plan_name IS NOT NULL
ON CONFLICT (plan_code) DO NOTHING;

INSERT INTO billing.subscriptions (customer_id, plan_id, started_at, cancelled_at)
SELECT
    legacy.customer_id,
    plans.plan_id,
    legacy.created_at,
    legacy.closed_at
FROM billing.legacy_accounts AS legacy
JOIN billing.plans AS plans
    ON plans.plan_code = lower(replace(legacy.plan_name, ' ', '_'));

UPDATE billing.customers AS c
SET billing_email = legacy.contact_email,
    updated_at = now()
FROM billing.legacy_accounts AS legacy
WHERE legacy.customer_id = c.customer_id
  AND c.billing_email IS NULL;
