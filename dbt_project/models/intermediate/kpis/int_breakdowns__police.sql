{# 公安指标分解 Police KPIs split by offence (案由) (city, both grains): macros/kpi_sources/police.sql. #}
{{ kpi_breakdowns_model('police') }}
