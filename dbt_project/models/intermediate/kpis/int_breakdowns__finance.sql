{# 质押融资指标分解 IP pledge KPIs split by 质押类型 (pledge_type) (city, both grains): macros/kpi_sources/finance.sql. #}
{{ kpi_breakdowns_model('finance') }}
