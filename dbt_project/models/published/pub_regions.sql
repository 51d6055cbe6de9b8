{# published.regions (MART.md BI additions): the city and its districts, with a display order. #}
{{ config(post_hook=["{{ published_keys(['region_code']) }}"]) }}
select region_code, name_zh, name_en, level, sort_order,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('dim_regions') }}
