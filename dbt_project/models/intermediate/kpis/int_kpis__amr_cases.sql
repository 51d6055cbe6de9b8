{#
  行政执法指标 AMR enforcement KPIs per period and region. Revoked (已撤销) cases count in no
  period, retroactively; closings are 已结案 cases by closed_on; the closure rate and transfers
  are over the cases opened in the period. Incremental: only the periods whose cases changed.
#}
{{ config(
    materialized='incremental',
    unique_key=['grain', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
) }}

with periods as (
    {{ kpi_periods('amr_cases', ref('int_amr__cases_current')) }}
),

valid_cases as not materialized (
    select * from {{ ref('int_amr__cases_current') }} where not is_revoked
),

closed_cases as not materialized (
    select * from valid_cases where status = '已结案'
),

kpis as (
    {{ aggregate_kpis('periods', 'valid_cases', 'opened_on', kpi_measures('amr_cases', 'opened')) }}
    union all
    {{ aggregate_kpis('periods', 'closed_cases', 'closed_on', kpi_measures('amr_cases', 'closed')) }}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
