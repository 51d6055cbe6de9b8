select
    load_id,
    source_row,
    seizure_no,
    seq,
    seizure_date,
    {{ month_of('seizure_date') }} as seizure_period,
    direction,
    channel,
    right_type,
    goods_category,
    quantity,
    value_wan * 10000 as value_yuan,
    campaign,
    disposition,
    disposition = '放行' as is_released
from {{ source('customs', 'customs_seizures') }}
