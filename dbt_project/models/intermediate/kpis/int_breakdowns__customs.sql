{# 海关指标分解 Customs KPIs split by channel (渠道) and by direction (进出境) (city, both grains). #}
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
    select * from {{ ref('int_customs__seizures_current') }} where is_present and not is_released
),

splits as (
    {%- for dimension in ['channel', 'direction'] %}
    {{ aggregate_kpis('periods', 'seizures', 'seizure_date', kpi_measures('customs', 'seized'),
                      split='member', dimension=dimension, member_column=dimension) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
