{#
  公安案件最新状态 Latest state of every police case: its row in the latest month's file (that
  month's current load) containing it — "latest file wins per 案件编号"; the latest file's
  打处人数 wins even if it grew later. Incremental: only cases of months whose file changed.
#}
{{ config(
    materialized='incremental',
    unique_key='case_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['case_id'], 'unique': true},
        {'columns': ['processed_at']},
        {'columns': ['filed_date']},
        {'columns': ['solved_date']},
    ],
) }}

{{ file_feed_current(
    source_name='police',
    file_rows=ref('int_police__cases_file_rows'),
    id='case_id',
    columns=['filed_date', 'solved_date', 'offence', 'amount_yuan', 'suspects', 'campaign', 'lead_source',
             'is_admin_transfer', 'region_code'],
    month_columns=['filed_period', 'solved_period'],
) }}
