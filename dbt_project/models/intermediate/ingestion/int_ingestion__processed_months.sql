{#
  处理水位 The source months (and current loads) this run has processed: written last, after
  every incremental model, and read by the next run (not through ref) to find the months whose
  content changed since. A failed run leaves the previous one in place, so nothing is skipped.
#}
-- depends_on: {{ ref('int_court__cases_current') }}
-- depends_on: {{ ref('int_amr__cases_current') }}
-- depends_on: {{ ref('int_police__cases_current') }}
-- depends_on: {{ ref('int_finance__pledges_current') }}
-- depends_on: {{ ref('int_customs__seizures_current') }}
-- depends_on: {{ ref('int_kpis__court') }}
-- depends_on: {{ ref('int_kpis__amr_cases') }}
-- depends_on: {{ ref('int_kpis__police') }}
-- depends_on: {{ ref('int_kpis__finance') }}
-- depends_on: {{ ref('int_kpis__customs') }}
-- depends_on: {{ ref('int_breakdowns__court') }}
-- depends_on: {{ ref('int_breakdowns__amr_cases') }}
-- depends_on: {{ ref('int_breakdowns__police') }}
-- depends_on: {{ ref('int_breakdowns__finance') }}
-- depends_on: {{ ref('int_breakdowns__customs') }}
select source, period, is_available, current_load_id, max_load_id, {{ run_stamp() }} as processed_at
from {{ ref('stg_ingestion__source_months') }}
