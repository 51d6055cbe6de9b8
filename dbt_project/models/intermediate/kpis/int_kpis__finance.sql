{# 质押融资指标 IP pledge KPIs per period and region, declared in macros/kpi_sources/finance.sql (voided registrations count nowhere). #}
{{ kpi_values_model('finance') }}
