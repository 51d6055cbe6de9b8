{# Pledge registration rows of every file received (SOURCES.md §5); 融资金额 normalised to 元. #}
select
    f.load_id,
    l.period as file_period,
    f.source_page,
    f.source_row,
    f.registration_no,
    f.registration_date,
    {{ month_of('f.registration_date') }} as registration_period,
    f.pledge_type,
    f.pledgor_uscc,
    f.pledgee,
    f.amount_wan * 10000 as amount_yuan,
    f.status,
    f.status = '已撤销' as is_voided,
    f.is_first_loan,
    f.region_code
from {{ source('finance', 'finance_pledges') }} as f
join {{ source('ingestion', 'loads') }} as l on l.load_id = f.load_id
