/*
  Weekly retention cohorts.
  A cohort is the week of a user's first purchase; retention is the share of the cohort
  that purchased again N weeks later.
*/
WITH first_purchase AS (
    SELECT
        customer_id,
        DATE_TRUNC('week', MIN(order_date)) AS cohort_week
    FROM analytics.fct_orders
    WHERE status NOT IN ('cancelled', 'returned')
    GROUP BY customer_id
),

activity AS (
    SELECT DISTINCT
        o.customer_id,
        DATE_TRUNC('week', o.order_date) AS activity_week
    FROM analytics.fct_orders AS o
    WHERE o.status NOT IN ('cancelled', 'returned')
),

cohort_activity AS (
    SELECT
        f.cohort_week,
        a.customer_id,
        DATEDIFF('week', f.cohort_week, a.activity_week) AS weeks_since_first
    FROM first_purchase AS f
    INNER JOIN activity AS a
        ON f.customer_id = a.customer_id
    WHERE a.activity_week >= f.cohort_week
),

cohort_sizes AS (
    SELECT
        cohort_week,
        COUNT(DISTINCT customer_id) AS cohort_size
    FROM first_purchase
    GROUP BY cohort_week
),

retention AS (
    SELECT
        ca.cohort_week,
        ca.weeks_since_first,
        COUNT(DISTINCT ca.customer_id) AS active_customers
    FROM cohort_activity AS ca
    GROUP BY ca.cohort_week, ca.weeks_since_first
)

SELECT
    r.cohort_week,
    s.cohort_size,
    r.weeks_since_first,
    r.active_customers,
    ROUND(100.0 * r.active_customers / NULLIF(s.cohort_size, 0), 2) AS retention_pct
FROM retention AS r
INNER JOIN cohort_sizes AS s
    ON r.cohort_week = s.cohort_week
WHERE r.weeks_since_first BETWEEN 0 AND 12
ORDER BY r.cohort_week, r.weeks_since_first;
