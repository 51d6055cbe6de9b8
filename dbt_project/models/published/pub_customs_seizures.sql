{{ config(post_hook=["{{ published_keys(['seizure_no']) }}"]) }}
select seizure_no, seizure_date, direction, channel, right_type, goods_category, quantity, value_yuan,
       campaign, disposition, is_released, counts_in_kpis,
       '{{ var("publication_id") }}'::text as publication_id
from {{ ref('fct_customs_seizures') }}
