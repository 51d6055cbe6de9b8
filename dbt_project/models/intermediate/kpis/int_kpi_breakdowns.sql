{# 指标分解 Every breakdown row of every declared source (models tagged kpi_breakdowns): (kpi_code, grain, period, region_code, dimension, member, value). #}
{{ config(materialized='view') }}
{{ kpi_union('kpi_breakdowns', ['kpi_code', 'grain', 'period', 'region_code', 'dimension', 'member', 'value']) }}
