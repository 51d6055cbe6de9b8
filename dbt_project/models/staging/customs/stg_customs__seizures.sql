{# Customs seizure rows of every workbook received (SOURCES.md §2); 案值 normalised to 元. #}
select
    s.load_id,
    l.period as file_period,
    s.source_page,
    s.source_row,
    s.seizure_no,
    s.seq,
    s.seizure_date,
    {{ month_of('s.seizure_date') }} as seizure_period,
    s.direction,
    s.channel,
    s.right_type,
    s.goods_category,
    s.quantity,
    s.value_wan * 10000 as value_yuan,
    s.campaign,
    s.disposition,
    s.disposition = '放行' as is_released
from {{ source('customs', 'customs_seizures') }} as s
join {{ source('ingestion', 'loads') }} as l on l.load_id = s.load_id
