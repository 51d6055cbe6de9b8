{#
  How much of each period a source covers: months loaded out of months in the period.
  A period appears once the pipeline has asked the agency for any of its months.
#}
with months as (
    select source, period, year, is_available from {{ ref('stg_ingestion__source_months') }}
)

select source, 'month' as grain, period, case when is_available then 1 else 0 end as months_covered,
       1 as months_expected
from months

union all

select source, 'year' as grain, year as period, count(*) filter (where is_available) as months_covered,
       12 as months_expected
from months
group by source, year
