{# 行政执法指标分解 AMR enforcement KPIs split by case category (city, both grains): macros/kpi_sources/amr_cases.sql. #}
{{ kpi_breakdowns_model('amr_cases') }}
