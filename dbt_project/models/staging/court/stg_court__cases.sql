{# Court case versions (SOURCES.md §1), typed and named as in the contract; money already in 元. #}
select
    c.load_id,
    c.source_page,
    c.source_row,
    c.case_no,
    c.case_type,
    c.trial_level,
    c.right_type,
    c.filed_date,
    c.closed_date,
    {{ month_of('c.filed_date') }} as filed_period,
    {{ month_of('c.closed_date') }} as closed_period,
    c.closing_method,
    c.claim_amount::numeric as claim_amount_yuan,
    c.award_amount::numeric as award_amount_yuan,
    c.punitive_damages,
    c.appealed,
    c.foreign_related,
    c.court_code as region_code,
    c.updated_at
from {{ source('court', 'court_cases') }} as c
