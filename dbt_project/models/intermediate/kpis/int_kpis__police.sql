{# 公安指标 Police KPIs per period and region (区县代码), declared in macros/kpi_sources/police.sql. #}
{{ kpi_values_model('police') }}
