{#
  质押登记最新状态 Latest state of every pledge registration: its row in the latest month's file
  containing it (a status change re-lists an older registration). 已撤销 (voided) registrations
  stay here, flagged: the KPI models leave them out of every period, retroactively.
#}
{{ config(
    materialized='incremental',
    unique_key='registration_no',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['registration_no'], 'unique': true},
        {'columns': ['processed_at']},
        {'columns': ['registration_date']},
    ],
) }}

{{ file_feed_current(
    source_name='finance',
    file_rows=ref('int_finance__pledges_file_rows'),
    id='registration_no',
    columns=['registration_date', 'pledge_type', 'pledgor_uscc', 'pledgee', 'amount_yuan', 'status', 'is_voided',
             'is_first_loan', 'region_code'],
    month_columns=['registration_period'],
) }}
