{# published.kpi_year: kpi_values at year grain only (one grain per relation: nothing to double count). #}
{{ config(materialized='view') }}
select
    kpi_code, grain, period, left(period, 4)::int as year, period_start, period_end, region_code, value, unit,
    is_complete, months_covered, prev_value, yoy_growth_pct, target_value, attainment_pct, target_met,
    publication_id
from {{ ref('pub_kpi_values') }}
where grain = 'year'
