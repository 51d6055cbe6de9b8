{#
  质押融资指标 IP pledge KPIs per period and region, over each registration's latest file row,
  by 登记日期. Voided (已撤销) registrations count nowhere; 已注销 (released) ones still count.
  Distinct enterprises are distinct within each cell (districts need not add up to the city).
#}
{{ config(
    materialized='incremental',
    unique_key=['grain', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
) }}

with periods as (
    {{ kpi_periods('finance', ref('int_finance__pledges_current')) }}
),

pledges as not materialized (
    select * from {{ ref('int_finance__pledges_current') }} where is_present and not is_voided
),

kpis as (
    {{ aggregate_kpis('periods', 'pledges', 'registration_date', kpi_measures('finance', 'registered')) }}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
