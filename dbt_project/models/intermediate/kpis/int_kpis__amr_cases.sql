{# 行政执法指标 AMR enforcement KPIs per period and region, declared in macros/kpi_sources/amr_cases.sql (revoked cases count nowhere). #}
{{ kpi_values_model('amr_cases') }}
