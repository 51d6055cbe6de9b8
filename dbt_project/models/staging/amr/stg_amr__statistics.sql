{# Statistics return rows (SOURCES.md §4b): every row of every revision received. #}
select
    s.load_id,
    s.source_page,
    s.source_row,
    s.period,
    left(s.period, 4) as year,
    substr(s.period, 6, 2)::int as month,
    s.revision,
    s.published_at,
    s.indicator,
    s.region_code,
    s.value::numeric as value,
    s.unit,
    s.basis
from {{ source('amr', 'amr_statistics') }} as s
