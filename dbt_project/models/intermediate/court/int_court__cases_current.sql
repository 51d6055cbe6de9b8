{#
  法院案件最新状态 Latest state of every court case: the version with the largest updated_at wins
  (SOURCES.md Settled details, change feeds). Incremental: new versions only.
#}
{{ config(
    materialized='incremental',
    unique_key='case_no',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['case_no'], 'unique': true},
        {'columns': ['processed_at']},
        {'columns': ['max_load_id_seen']},
        {'columns': ['filed_date']},
        {'columns': ['closed_date']},
    ],
) }}

{{ change_feed_current(
    source_name='court',
    staging=ref('stg_court__cases'),
    id='case_no',
    columns=['case_type', 'trial_level', 'right_type', 'filed_date', 'closed_date', 'closing_method',
             'claim_amount_yuan', 'award_amount_yuan', 'punitive_damages', 'appealed', 'foreign_related',
             'region_code'],
    month_columns=['filed_period', 'closed_period'],
) }}
