{# 指标观测 Every KPI value of every domain, one row per (kpi_code, grain, period, region_code). #}
{{ config(materialized='view') }}
{% set domains = ['int_kpis__court', 'int_kpis__amr_cases', 'int_kpis__police', 'int_kpis__customs',
                  'int_kpis__finance', 'int_kpis__amr_statistics'] %}
{% for model in domains %}
select kpi_code, grain, period, region_code, value from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
