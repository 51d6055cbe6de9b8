{# 知识产权质押登记 One row per pledge registration in its latest file's state; voided (已撤销) flagged, counted nowhere. #}
{{ config(materialized='view') }}
select
    registration_no,
    registration_date,
    pledge_type,
    pledgor_uscc,
    pledgee,
    amount_yuan,
    status,
    is_voided,
    {{ counts_in_kpis('finance') }} as counts_in_kpis,
    is_first_loan,
    region_code,
    file_period,
    load_id
from {{ ref('int_finance__pledges_current') }}
where is_present
