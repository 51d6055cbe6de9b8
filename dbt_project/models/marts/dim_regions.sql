select region_code, name_zh, name_en, level
from {{ ref('ref_regions') }}
