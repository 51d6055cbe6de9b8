{# Every fetch of every payload: URL without credentials, page, ETag, when, by which run. #}
select
    f.fetch_id,
    f.source,
    f.period,
    f.page,
    f.url,
    f.http_status,
    f.etag,
    f.last_modified,
    f.sha256 as payload_sha256,
    p.bytes as payload_bytes,
    f.run_id,
    f.fetched_at
from {{ source('ingestion', 'fetches') }} as f
join {{ source('ingestion', 'payloads') }} as p on p.sha256 = f.sha256
