{# 指标观测 Every KPI value of every declared source (models tagged kpi_values), one row per (kpi_code, grain, period, region_code). #}
{{ config(materialized='view') }}
{{ kpi_union('kpi_values', ['kpi_code', 'grain', 'period', 'region_code', 'value']) }}
