{# published.kpi_breakdown_year: kpi_breakdown at year grain only. #}
{{ config(materialized='view') }}
select
    kpi_code, grain, period, left(period, 4)::int as year, period_start, period_end, region_code, dimension,
    member, value, publication_id
from {{ ref('pub_kpi_breakdown') }}
where grain = 'year'
