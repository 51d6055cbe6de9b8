{# 法院指标分解 Court KPIs split by case_type and by right_type (city, both grains). #}
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

splits as (
    {%- for dimension in ['case_type', 'right_type'] %}
    {%- for date_column, role in [('filed_date', 'filed'), ('closed_date', 'closed')] %}
    {{ aggregate_kpis('periods', 'cases', date_column, kpi_measures('court', role),
                      split='member', dimension=dimension, member_column=dimension) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
