{# 海关指标分解 Customs KPIs split by channel (渠道) and by direction (进出境) (city, both grains): macros/kpi_sources/customs.sql. #}
{{ kpi_breakdowns_model('customs') }}
