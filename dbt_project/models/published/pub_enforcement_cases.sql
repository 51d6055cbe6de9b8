select case_id, category, opened_on, closed_on, status, is_revoked, counts_in_kpis, fine_yuan,
       transferred_to_police, online, region_code, handling_days, updated_at,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_enforcement_cases') }}
