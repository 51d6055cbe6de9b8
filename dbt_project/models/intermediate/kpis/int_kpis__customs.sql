{# 海关指标 Customs KPIs, city only, declared in macros/kpi_sources/customs.sql (released rows are not seizures). #}
{{ kpi_values_model('customs') }}
