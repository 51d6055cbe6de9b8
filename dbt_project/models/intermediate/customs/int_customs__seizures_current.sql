{#
  海关查扣最新状态 Every seizure batch of each month's current workbook: a re-issued workbook
  replaces its whole month (a batch missing from the new file is gone: `is_present = false`).
  放行 rows stay, flagged: they are not seizures in any KPI.
#}
{{ config(
    materialized='incremental',
    unique_key='seizure_no',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['seizure_no'], 'unique': true},
        {'columns': ['processed_at']},
        {'columns': ['seizure_date']},
    ],
) }}

{{ file_feed_current(
    source_name='customs',
    file_rows=ref('int_customs__seizures_file_rows'),
    id='seizure_no',
    columns=['seq', 'seizure_date', 'direction', 'channel', 'right_type', 'goods_category', 'quantity', 'value_yuan',
             'campaign', 'disposition', 'is_released'],
    month_columns=['seizure_period'],
) }}
