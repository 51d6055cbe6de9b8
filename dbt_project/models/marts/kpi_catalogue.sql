select kpi_code, name_zh, name_en, category, unit, definition, source
from {{ ref('ref_kpi_catalogue') }}
