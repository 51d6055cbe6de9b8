{{ config(post_hook=["{{ published_keys(['source', 'period']) }}"]) }}
{#
  Which source months this publication covers (completeness for BI, and `ipkpi status`), and their
  latency: when the agency first published each month, and when we first published it — an earlier
  publication's instant, or this one's for a month it is the first to carry.
#}
with this_publication as (
    select as_of from {{ source('audit', 'publication_log') }}
    where publication_id = '{{ var("publication_id") }}'
)

select
    m.source,
    m.period,
    m.is_available,
    m.current_load_id as load_id,
    m.agency_published_at,
    case when m.is_available then coalesce(f.published_at, p.as_of) end as first_published_at,
    '{{ var("publication_id") }}'::text as publication_id,
    {{ period_start('m.period') }} as period_start,
    {{ period_end('m.period') }} as period_end
from {{ ref('stg_ingestion__source_months') }} as m
left join {{ source('audit', 'source_month_first_published') }} as f using (source, period)
left join this_publication as p on true
