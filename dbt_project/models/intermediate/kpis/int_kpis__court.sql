{#
  法院指标 Court KPIs (KPIS.md 保护) per period and region (court_code; the intermediate court's
  330200 cases count in the city row only). Incremental: only the periods whose cases changed.
#}
{{ config(
    materialized='incremental',
    unique_key=['grain', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
) }}

with periods as (
    {{ kpi_periods('court', ref('int_court__cases_current')) }}
),

cases as not materialized (
    select * from {{ ref('int_court__cases_current') }}
),

kpis as (
    {{ aggregate_kpis('periods', 'cases', 'filed_date', kpi_measures('court', 'filed')) }}
    union all
    {{ aggregate_kpis('periods', 'cases', 'closed_date', kpi_measures('court', 'closed')) }}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
