{#
  统计月报选定版次 The rows of each loaded month's chosen statistics document: the highest
  revision wins (the latest load of it, should a revision be received twice). Every revision
  stays in raw; a revision replaces the whole document.
#}
with months as (
    select period from {{ ref('stg_ingestion__source_months') }}
    where source = 'amr_statistics' and is_available
),

documents as (
    select distinct period, revision, load_id, published_at
    from {{ ref('stg_amr__statistics') }}
    where load_id <= {{ snapshot_max_load_id('amr_statistics') }}
      and period in (select period from months)
),

chosen as (
    select distinct on (period) period, revision, load_id
    from documents
    order by period, revision desc, load_id desc
)

select
    s.period,
    s.year,
    s.month,
    s.revision,
    s.load_id,
    s.published_at,
    s.indicator,
    s.region_code,
    s.value,
    s.unit,
    s.basis
from {{ ref('stg_amr__statistics') }} as s
join chosen as c on c.load_id = s.load_id
