{#
  The payloads behind each published source month: the month's current load (as of the run's
  snapshot) lists its payloads' checksums in page order; each is shown with its first fetch. This
  is the provenance the white paper's appendix prints (bi_reader cannot read raw).
#}
with current_loads as (
    select m.source, m.period, m.current_load_id as load_id, l.content_sha256, l.payload_sha256s
    from {{ ref('stg_ingestion__source_months') }} as m
    join {{ source('ingestion', 'loads') }} as l on l.load_id = m.current_load_id
    where m.is_available
),

payloads as (
    select c.source, c.period, c.load_id, c.content_sha256, u.payload_sha256, u.position::int as payload_position
    from current_loads as c
    cross join lateral unnest(c.payload_sha256s) with ordinality as u (payload_sha256, position)
),

first_fetch as (
    select distinct on (source, period, payload_sha256)
        source, period, payload_sha256, page, url, etag, last_modified, payload_bytes, fetched_at, run_id
    from {{ ref('stg_ingestion__fetches') }}
    order by source, period, payload_sha256, fetched_at, fetch_id
)

select
    p.source,
    p.period,
    p.load_id,
    p.payload_position,
    p.payload_sha256,
    p.content_sha256,
    f.page,
    f.payload_bytes,
    f.url,
    f.etag,
    f.last_modified,
    f.fetched_at,
    f.run_id
from payloads as p
left join first_fetch as f using (source, period, payload_sha256)
