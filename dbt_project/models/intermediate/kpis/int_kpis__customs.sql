{#
  海关指标 Customs KPIs (KPIS.md 保护). Released (放行) rows are not seizures; a batch dropped by a
  re-issued workbook is gone. Customs carries no region: city rows only. A loaded month with no
  seizures is 0; a month not loaded has no row. Incremental: only the periods that changed.
#}
{{ config(
    materialized='incremental',
    unique_key=['grain', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
) }}

with periods as (
    {{ kpi_periods('customs', ref('int_customs__seizures_current')) }}
),

seizures as not materialized (
    select *, '330200'::text as region_code
    from {{ ref('int_customs__seizures_current') }}
    where is_present and not is_released
),

kpis as (
    {{ aggregate_kpis('periods', 'seizures', 'seizure_date', kpi_measures('customs', 'seized')) }}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
where region_code = '330200'
