{#
  公安指标 Police KPIs per period and region (区县代码), over each case's latest file row.
  Incremental: only the periods whose cases changed.
#}
{{ config(
    materialized='incremental',
    unique_key=['grain', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
) }}

with periods as (
    {{ kpi_periods('police', ref('int_police__cases_current')) }}
),

cases as not materialized (
    select * from {{ ref('int_police__cases_current') }} where is_present
),

kpis as (
    {{ aggregate_kpis('periods', 'cases', 'filed_date', kpi_measures('police', 'filed')) }}
    union all
    {{ aggregate_kpis('periods', 'cases', 'solved_date', kpi_measures('police', 'solved')) }}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
