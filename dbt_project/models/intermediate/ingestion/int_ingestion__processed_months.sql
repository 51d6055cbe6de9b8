{#
  处理水位 The source months (and current loads) this run has processed: written last, after
  every incremental model, and read by the next run (not through ref) to find the months whose
  content changed since. A failed run leaves the previous one in place, so nothing is skipped.
#}
{#- after every model that recomputes from the changed months: each declared source's latest state and KPI models #}
{%- for model in kpi_models('records') + kpi_models('kpi_values') + kpi_models('kpi_breakdowns') %}
-- depends_on: {{ ref(model) }}
{%- endfor %}
select source, period, is_available, current_load_id, max_load_id, {{ run_stamp() }} as processed_at
from {{ ref('stg_ingestion__source_months') }}
