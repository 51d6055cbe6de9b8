{# 海关查扣 One row per seizure batch in its latest state (the current workbook of its month). #}
{{ config(materialized='view') }}
select
    seizure_no,
    seizure_date,
    {{ month_of('seizure_date') }} as seizure_period,
    direction,
    channel,
    right_type,
    goods_category,
    quantity,
    value_yuan,
    campaign,
    disposition,
    is_released,
    {{ counts_in_kpis('customs') }} as counts_in_kpis,
    file_period,
    load_id
from {{ ref('int_customs__seizures_current') }}
where is_present
