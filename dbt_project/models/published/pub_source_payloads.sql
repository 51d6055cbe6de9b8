{{ config(post_hook=["{{ published_keys(['source', 'period', 'payload_position']) }}"]) }}
{# Provenance for BI and the white paper: the payloads (checksums) that fed each published source month. #}
select
    source, period, load_id, payload_position, payload_sha256, content_sha256, page, payload_bytes,
    url, etag, last_modified, fetched_at,
    '{{ var("publication_id") }}'::text as publication_id
from {{ ref('int_ingestion__current_payloads') }}
