select
    kpi_code, grain, period, region_code, value, unit, is_complete, months_covered, prev_value,
    yoy_growth_pct, target_value, attainment_pct, target_met,
    '{{ var("publication_id") }}'::text as publication_id
from {{ ref('kpi_values') }}
