-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['case_id'], [{'columns': ['region_code'], 'to': 'pub_regions', 'to_columns': ['region_code']}]) }}"]) }}
select case_id, filed_date, solved_date, offence, amount_yuan, suspects, campaign, lead_source,
       is_admin_transfer, region_code,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_police_cases') }}
