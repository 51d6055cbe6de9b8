{# 公安指标分解 Police KPIs split by offence (案由) (city, both grains). #}
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

splits as (
    {{ aggregate_kpis('periods', 'cases', 'filed_date', kpi_measures('police', 'filed'),
                      split='member', dimension='offence', member_column='offence') }}
    union all
    {{ aggregate_kpis('periods', 'cases', 'solved_date', kpi_measures('police', 'solved'),
                      split='member', dimension='offence', member_column='offence') }}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
