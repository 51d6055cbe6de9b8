{# AMR enforcement case versions (SOURCES.md §4a), typed; fines in 元. #}
select
    c.load_id,
    c.source_page,
    c.source_row,
    c.case_id,
    c.category,
    case
        when c.category in ('专利侵权纠纷行政裁决', '假冒专利') then 'patent'
        when c.category in ('商标侵权', '商标假冒') then 'trademark'
        else 'other'
    end as category_group,
    c.opened_on,
    c.closed_on,
    {{ month_of('c.opened_on') }} as opened_period,
    {{ month_of('c.closed_on') }} as closed_period,
    c.status,
    c.status = '已撤销' as is_revoked,
    c.fine_yuan::numeric as fine_yuan,
    c.transferred_to_police,
    c.online,
    c.region_code,
    c.updated_at
from {{ source('amr', 'amr_cases') }} as c
