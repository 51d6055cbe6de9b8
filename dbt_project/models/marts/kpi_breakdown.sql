{#
  Splits of a KPI by a dimension (MART.md published.kpi_breakdown): case_type and right_type for
  the court KPIs, category for AMR cases, channel and direction for customs, offence for police,
  pledge_type for the pledge KPIs; city rows at both grains, every member of the contract (0 for
  counts and sums without records, NULL for rates and means). Only periods the KPI has are split.
#}
select b.kpi_code, b.grain, b.period, b.region_code, b.dimension, b.member, b.value
from {{ ref('int_kpi_breakdowns') }} as b
