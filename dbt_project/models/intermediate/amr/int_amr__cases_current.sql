{#
  行政执法案件最新状态 Latest state of every AMR enforcement case (largest updated_at wins).
  Revoked (已撤销) cases stay here, flagged: the KPI models leave them out of every period.
#}
{{ config(
    materialized='incremental',
    unique_key='case_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['case_id'], 'unique': true},
        {'columns': ['processed_at']},
        {'columns': ['max_load_id_seen']},
        {'columns': ['opened_on']},
        {'columns': ['closed_on']},
    ],
) }}

{{ change_feed_current(
    source_name='amr_cases',
    staging=ref('stg_amr__cases'),
    id='case_id',
    columns=['category', 'category_group', 'opened_on', 'closed_on', 'status', 'is_revoked', 'fine_yuan',
             'transferred_to_police', 'online', 'region_code'],
    month_columns=['opened_period', 'closed_period'],
) }}
