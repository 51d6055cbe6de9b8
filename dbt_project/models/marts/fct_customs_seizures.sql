{# One row per seizure batch in its latest state (the current workbook of its month). #}
select
    seizure_no,
    seizure_date,
    seizure_period,
    direction,
    channel,
    right_type,
    goods_category,
    quantity,
    value_yuan,
    campaign,
    disposition,
    is_released,
    load_id
from {{ ref('int_customs__seizures_current') }}
