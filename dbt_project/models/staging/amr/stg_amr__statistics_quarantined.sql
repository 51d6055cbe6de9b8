{#
  Statistics-return rows the loader refused (quarantine.rows), typed like stg_amr__statistics.
  A whole document whose ytd went below the previous month's is quarantined by the loader
  (reasons `ytd_below_previous_month:<indicator>@<region>` and `document_rejected:…`): its
  revision still decides which document of the month is the chosen one (and the month unknown).
#}
select
    q.load_id,
    q.source_page,
    q.source_row,
    q.period,
    left(q.period, 4) as year,
    substr(q.period, 6, 2)::int as month,
    (q.record ->> 'revision')::int as revision,
    q.record ->> 'indicator' as indicator,
    q.record ->> 'region' as region_code,
    case when q.record ->> 'value' ~ '^-?[0-9]+(\.[0-9]+)?$' then (q.record ->> 'value')::numeric end as value,
    q.record ->> 'basis' as basis,
    q.reason,
    q.reason like 'ytd_below_previous_month%' or q.reason like 'document_rejected%' as is_document_rejected
from {{ source('quarantine', 'rows') }} as q
where q.source = 'amr_statistics'
  and q.record ->> 'revision' ~ '^[0-9]+$'
