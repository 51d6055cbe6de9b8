{# 法院案件 One row per court IP case in its latest state (largest updated_at). #}
{{ config(materialized='view') }}
select
    case_no,
    case_type,
    trial_level,
    right_type,
    filed_date,
    closed_date,
    closing_method,
    claim_amount_yuan,
    award_amount_yuan,
    punitive_damages,
    appealed,
    foreign_related,
    region_code,
    closed_date - filed_date as trial_days,
    updated_at,
    load_id
from {{ ref('int_court__cases_current') }}
