select
    load_id,
    title,
    quantity,
    value_wan * 10000 as value_yuan,
    data_rows
from {{ source('customs', 'customs_workbook_totals') }}
