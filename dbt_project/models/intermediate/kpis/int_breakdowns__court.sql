{# 法院指标分解 Court KPIs split by case_type and by right_type (city, both grains): macros/kpi_sources/court.sql. #}
{{ kpi_breakdowns_model('court') }}
