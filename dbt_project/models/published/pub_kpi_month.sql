{# published.kpi_month: kpi_values at month grain only (the target columns are NULL: targets apply to years). #}
{{ config(materialized='view') }}
select
    kpi_code, grain, period, left(period, 4)::int as year, substr(period, 6, 2)::int as month, period_start,
    period_end, region_code, value, unit, is_complete, months_covered, prev_value, yoy_growth_pct,
    target_value, attainment_pct, target_met, publication_id
from {{ ref('pub_kpi_values') }}
where grain = 'month'
