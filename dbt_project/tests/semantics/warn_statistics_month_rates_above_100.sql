{# Month-grain mediation success rates above 100 % (successes booked in another month than their closings): a warning for a person to look at. #}
{{ config(severity='warn') }}
select kpi_code, grain, period, region_code, value
from {{ ref('kpi_values') }}
where kpi_code = 'mediation_success_rate' and grain = 'month' and (value < 0 or value > 100)
