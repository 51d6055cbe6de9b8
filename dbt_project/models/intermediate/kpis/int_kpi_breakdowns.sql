{# 指标分解 Every breakdown row of every domain: (kpi_code, grain, period, region_code, dimension, member, value). #}
{{ config(materialized='view') }}
{% set domains = ['int_breakdowns__court', 'int_breakdowns__amr_cases', 'int_breakdowns__police',
                  'int_breakdowns__customs', 'int_breakdowns__finance'] %}
{% for model in domains %}
select kpi_code, grain, period, region_code, dimension, member, value from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
