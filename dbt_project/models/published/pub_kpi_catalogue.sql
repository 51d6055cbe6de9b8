{{ config(post_hook=["{{ published_keys(['kpi_code']) }}"]) }}
select kpi_code, name_zh, name_en, category, unit, definition, source,
       '{{ var("publication_id") }}'::text as publication_id,
       aggregation, is_additive, sort_order
from {{ ref('kpi_catalogue') }}
