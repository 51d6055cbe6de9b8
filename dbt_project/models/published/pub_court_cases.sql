-- depends_on: {{ ref('pub_regions') }}
{{ config(post_hook=["{{ published_keys(['case_no'], [{'columns': ['court_code'], 'to': 'pub_regions', 'to_columns': ['region_code']}]) }}"]) }}
select case_no, case_type, trial_level, right_type, filed_date, closed_date, closing_method,
       claim_amount_yuan, award_amount_yuan, punitive_damages, appealed, foreign_related,
       region_code as court_code, trial_days, updated_at,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_court_cases') }}
