select
    source,
    period,
    left(period, 4) as year,
    status = 'available' as is_available,
    current_load_id,
    checked_at
from {{ source('ingestion', 'source_months') }}
