{#
  统计月报选定版次 The rows of each loaded month's chosen statistics document: the highest
  revision wins (then the month's current load, then the latest load), every revision stays in
  raw, and a revision replaces the whole document. A revision the loader quarantined as a whole
  (ytd below the previous month's) still wins by its number: its rows come here flagged
  `is_quarantined` (for the ytd check), and the month is unknown until a higher revision.
#}
with months as (
    select period, current_load_id from {{ ref('stg_ingestion__source_months') }}
    where source = 'amr_statistics' and is_available
),

loaded_rows as (
    select load_id, period, year, month, revision, published_at, indicator, region_code, value, unit, basis,
           false as is_quarantined
    from {{ ref('stg_amr__statistics') }}
    where load_id <= {{ snapshot_max_load_id('amr_statistics') }}
),

rejected_rows as (
    select load_id, period, year, month, revision, null::timestamptz as published_at, indicator, region_code,
           value, null::text as unit, basis, true as is_quarantined
    from {{ ref('stg_amr__statistics_quarantined') }}
    where load_id <= {{ snapshot_max_load_id('amr_statistics') }} and is_document_rejected
),

documents as (
    select period, revision, load_id from loaded_rows
    union
    select period, revision, load_id from rejected_rows
),

chosen as (
    select distinct on (d.period) d.period, d.revision, d.load_id
    from documents as d
    join months as m on m.period = d.period
    order by d.period, d.revision desc, (d.load_id = m.current_load_id) desc, d.load_id desc
),

rows_ as (
    select * from loaded_rows
    union all
    select * from rejected_rows
)

select
    r.period,
    r.year,
    r.month,
    r.revision,
    r.load_id,
    r.published_at,
    r.indicator,
    r.region_code,
    r.value,
    r.unit,
    r.basis,
    r.is_quarantined
from rows_ as r
join chosen as c on c.load_id = r.load_id
