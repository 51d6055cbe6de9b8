{#
  Every row of every file received for finance (append-only copy of the staging rows, indexed by
  record id), so the latest-state model can look a record up across files at any history size.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['load_id']}, {'columns': ['file_period']}, {'columns': ['registration_no']}],
) }}

{{ file_rows_append('finance', ref('stg_finance__pledges')) }}
