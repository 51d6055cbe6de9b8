{# 法院指标 Court KPIs per period and region, declared in macros/kpi_sources/court.sql. Incremental: only the periods whose cases changed. #}
{{ kpi_values_model('court') }}
