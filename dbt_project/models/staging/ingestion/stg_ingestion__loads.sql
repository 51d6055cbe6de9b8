{# Every load (one per distinct content of a source-month), and whether it is its month's current one. #}
select
    l.load_id,
    l.source,
    l.period as file_period,
    l.rows_loaded,
    l.rows_quarantined,
    l.loaded_at,
    coalesce(m.current_load_id = l.load_id, false) as is_current
from {{ source('ingestion', 'loads') }} as l
left join {{ source('ingestion', 'source_months') }} as m
    on m.source = l.source and m.period = l.period
