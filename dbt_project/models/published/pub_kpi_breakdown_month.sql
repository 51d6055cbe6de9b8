{# published.kpi_breakdown_month: kpi_breakdown at month grain only. #}
{{ config(materialized='view') }}
select
    kpi_code, grain, period, left(period, 4)::int as year, substr(period, 6, 2)::int as month, period_start,
    period_end, region_code, dimension, member, value, publication_id
from {{ ref('pub_kpi_breakdown') }}
where grain = 'month'
