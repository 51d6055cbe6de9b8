{#
  The run's snapshot of what is loaded (a table, taken once at the start of the run, in one
  statement): every model downstream reads raw rows only up to `max_load_id`, so a load that
  lands while dbt runs is picked up whole by the next run, never half by this one.
#}
{{ config(materialized='table') }}

with loads as (
    select source, max(load_id) as max_load_id
    from {{ source('ingestion', 'loads') }}
    group by source
)

select
    m.source,
    m.period,
    left(m.period, 4) as year,
    m.status = 'available' as is_available,
    m.current_load_id,
    to_date(m.period || '-01', 'YYYY-MM-DD') as month_start,
    (to_date(m.period || '-01', 'YYYY-MM-DD') + interval '1 month')::date as month_end,
    coalesce(l.max_load_id, 0) as max_load_id,
    m.checked_at,
    m.agency_published_at,
    m.first_loaded_at
from {{ source('ingestion', 'source_months') }} as m
left join loads as l using (source)
