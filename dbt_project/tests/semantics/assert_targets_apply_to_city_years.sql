{# Targets apply at year grain to the city only; an incomplete year has no attainment nor verdict. #}
select kpi_code, grain, period, region_code, target_value, attainment_pct, target_met, is_complete
from {{ ref('kpi_values') }}
where (target_value is not null and (grain <> 'year' or region_code <> '330200'))
   or (not is_complete and (attainment_pct is not null or target_met is not null))
   or (target_value is null and (attainment_pct is not null or target_met is not null))
