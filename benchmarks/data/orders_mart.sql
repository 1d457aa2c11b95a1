-- models/marts/fct_orders.sql
-- Daily order facts: one row per order, with payment totals and customer attributes.

{{
    config(
        materialized='incremental',
        unique_key='order_id',
        on_schema_change='append_new_columns',
        partition_by={'field': 'order_date', 'data_type': 'date'}
    )
}}

with orders as (

    select
        id as order_id,
        user_id as customer_id,
        cast(order_date as date) as order_date,
        status,
        _etl_loaded_at
    from {{ source('shop', 'orders') }}
    {% if is_incremental() %}
    where _etl_loaded_at > (select max(_etl_loaded_at) from {{ this }})
    {% endif %}

),

payments as (

    select
        order_id,
        sum(case when status = 'success' then amount else 0 end) / 100.0 as amount_paid,
        sum(case when payment_method = 'credit_card' and status = 'success' then amount else 0 end) / 100.0 as credit_card_amount,
        sum(case when payment_method = 'coupon' and status = 'success' then amount else 0 end) / 100.0 as coupon_amount,
        count(*) as payment_attempts,
        max(created_at) as last_payment_at
    from {{ ref('stg_payments') }}
    group by 1

),

customers as (

    select
        customer_id,
        first_name,
        last_name,
        country_code,
        signup_channel
    from {{ ref('dim_customers') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,
        coalesce(payments.amount_paid, 0) as amount_paid,
        coalesce(payments.credit_card_amount, 0) as credit_card_amount,
        coalesce(payments.coupon_amount, 0) as coupon_amount,
        payments.payment_attempts,
        payments.last_payment_at,
        customers.country_code,
        customers.signup_channel,
        case
            when orders.status = 'returned' then 'refund'
            when payments.amount_paid is null then 'unpaid'
            when payments.amount_paid < 10 then 'small'
            else 'regular'
        end as order_segment,
        orders._etl_loaded_at
    from orders
    left join payments
        on orders.order_id = payments.order_id
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
