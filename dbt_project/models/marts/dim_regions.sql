{# Regions with a display order: the city first, then the districts in GB/T 2260 code order. #}
select
    region_code, name_zh, name_en, level,
    (row_number() over (order by level <> 'city', region_code))::int as sort_order
from {{ ref('ref_regions') }}
