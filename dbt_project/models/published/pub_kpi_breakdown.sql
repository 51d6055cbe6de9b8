-- depends_on: {{ ref('pub_kpi_catalogue') }}
-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['kpi_code', 'grain', 'period', 'region_code', 'dimension', 'member'],
    [{'columns': ['kpi_code'], 'to': 'pub_kpi_catalogue'}, {'columns': ['region_code'], 'to': 'pub_regions'}]) }}"]) }}
select kpi_code, grain, period, region_code, dimension, member, value,
       '{{ var("publication_id") }}'::text as publication_id,
       {{ period_start('period', 'grain') }} as period_start,
       {{ period_end('period', 'grain') }} as period_end
from {{ ref('kpi_breakdown') }}
