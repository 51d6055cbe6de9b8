{# 行政执法指标分解 AMR enforcement KPIs split by case category (city, both grains). #}
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

splits as (
    {{ aggregate_kpis('periods', 'valid_cases', 'opened_on', kpi_measures('amr_cases', 'opened'),
                      split='member', dimension='category', member_column='category') }}
    union all
    {{ aggregate_kpis('periods', 'closed_cases', 'closed_on', kpi_measures('amr_cases', 'closed'),
                      split='member', dimension='category', member_column='category') }}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
