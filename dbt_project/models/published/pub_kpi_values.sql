-- depends_on: {{ ref('pub_kpi_catalogue') }}
-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['kpi_code', 'grain', 'period', 'region_code'],
    [{'columns': ['kpi_code'], 'to': 'pub_kpi_catalogue'}, {'columns': ['region_code'], 'to': 'pub_regions'}]) }}"]) }}
select
    kpi_code, grain, period, region_code, value, unit, is_complete, months_covered, prev_value,
    yoy_growth_pct, target_value, attainment_pct, target_met,
    '{{ var("publication_id") }}'::text as publication_id,
    {{ period_start('period', 'grain') }} as period_start,
    {{ period_end('period', 'grain') }} as period_end
from {{ ref('kpi_values') }}
