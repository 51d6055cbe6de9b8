select kpi_code, name_zh, name_en, category, unit, definition, source,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('kpi_catalogue') }}
