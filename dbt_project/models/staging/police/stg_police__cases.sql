{# Police case rows of every file received (SOURCES.md §3), with the month of the file they came in. #}
select
    p.load_id,
    l.period as file_period,
    p.source_page,
    p.source_row,
    p.case_id,
    p.filed_date,
    p.solved_date,
    {{ month_of('p.filed_date') }} as filed_period,
    {{ month_of('p.solved_date') }} as solved_period,
    p.offence,
    p.amount_yuan::numeric as amount_yuan,
    p.suspects,
    p.campaign,
    p.lead_source,
    p.lead_source like '行政移送%' as is_admin_transfer,
    p.region_code
from {{ source('police', 'police_cases') }} as p
join {{ source('ingestion', 'loads') }} as l on l.load_id = p.load_id
