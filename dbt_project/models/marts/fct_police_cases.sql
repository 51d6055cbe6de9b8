{# 公安案件 One row per police IP crime case in its latest file's state. #}
{{ config(materialized='view') }}
select
    case_id,
    filed_date,
    solved_date,
    offence,
    amount_yuan,
    suspects,
    campaign,
    lead_source,
    is_admin_transfer,
    region_code,
    file_period,
    load_id
from {{ ref('int_police__cases_current') }}
where is_present
