-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['registration_no'], [{'columns': ['region_code'], 'to': 'pub_regions', 'to_columns': ['region_code']}]) }}"]) }}
select registration_no, registration_date, pledge_type, pledgor_uscc, pledgee, amount_yuan, status,
       is_voided, counts_in_kpis, is_first_loan, region_code,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_pledges') }}
