{# 质押融资指标分解 IP pledge KPIs split by 质押类型 (pledge_type) (city, both grains). #}
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

splits as (
    {{ aggregate_kpis('periods', 'pledges', 'registration_date', kpi_measures('finance', 'registered'),
                      split='member', dimension='pledge_type', member_column='pledge_type') }}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
