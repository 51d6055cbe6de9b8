select kpi_code, grain, period, region_code, dimension, member, value,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('kpi_breakdown') }}
