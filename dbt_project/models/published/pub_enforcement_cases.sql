-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['case_id'], [{'columns': ['region_code'], 'to': 'pub_regions', 'to_columns': ['region_code']}]) }}"]) }}
select case_id, category, opened_on, closed_on, status, is_revoked, counts_in_kpis, fine_yuan,
       transferred_to_police, online, region_code, handling_days, updated_at,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_enforcement_cases') }}
