{# Which source months this publication covers (completeness for BI, and `ipkpi status`). #}
select source, period, is_available, current_load_id as load_id,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('stg_ingestion__source_months') }}
