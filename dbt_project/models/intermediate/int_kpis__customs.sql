{#
  Customs KPIs (KPIS.md 保护). Released (放行) rows are not seizures. Customs carries no region:
  city rows only. A loaded month with no seizures is 0; a month not loaded has no row.
#}
{% set kpis = {
    'customs_seizure_batches': 'batches',
    'customs_seizure_items': 'items',
    'customs_seizure_value': 'value_yuan',
} %}

with months as (
    select period, year from {{ ref('stg_ingestion__source_months') }}
    where source = 'customs' and is_available
),

seizures as (
    select * from {{ ref('fct_customs_seizures') }} where not is_released
),

monthly as (
    select
        m.period,
        m.year,
        count(s.seizure_no) as batches,
        coalesce(sum(s.quantity), 0) as items,
        coalesce(sum(s.value_yuan), 0) as value_yuan
    from months as m
    left join seizures as s on s.seizure_period = m.period
    group by m.period, m.year
),

yearly as (
    select year as period, sum(batches) as batches, sum(items) as items, sum(value_yuan) as value_yuan
    from monthly
    group by year
)

{{ kpi_rows('monthly', 'month', kpis) }}
union all
{{ kpi_rows('yearly', 'year', kpis) }}
