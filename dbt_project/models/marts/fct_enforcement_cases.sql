{# 行政执法案件 One row per AMR enforcement case in its latest state; revoked (已撤销) cases flagged, counted nowhere. #}
{{ config(materialized='view') }}
select
    case_id,
    category,
    category_group,
    opened_on,
    closed_on,
    status,
    is_revoked,
    {{ counts_in_kpis('amr_cases') }} as counts_in_kpis,
    fine_yuan,
    transferred_to_police,
    online,
    region_code,
    case when status = '已结案' then closed_on - opened_on end as handling_days,
    updated_at,
    load_id
from {{ ref('int_amr__cases_current') }}
