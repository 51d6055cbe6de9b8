{#
  Incremental bookkeeping shared by the record models (see models/intermediate/README in
  _intermediate__models.yml). Three ideas:
  - the run reads raw rows only up to the snapshot's `max_load_id` of the source
    (stg_ingestion__source_months is a table taken once per run);
  - a source month "changed" when its current load differs from the one the last successful run
    processed (int_ingestion__processed_months, written at the end of every run);
  - every record row carries `touched_months` (every month any version of it was dated in) and
    `processed_at` (the run that last rewrote it), so a KPI model recomputes exactly the periods
    whose records changed since it last ran.
#}

{% macro run_stamp() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}

{% macro snapshot_max_load_id(source_name) -%}
    (select coalesce(max(max_load_id), 0) from {{ ref('stg_ingestion__source_months') }}
     where source = '{{ source_name }}')
{%- endmacro %}

{# The relation written at the end of the previous successful run (not a ref: it is built last). #}
{% macro processed_months_relation() -%}
    {%- if execute -%}
        {{ return(adapter.get_relation(database=target.database, schema='intermediate',
                                       identifier='int_ingestion__processed_months')) }}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
{%- endmacro %}

{# Periods (YYYY-MM) of a source whose current content differs from what the last run processed. #}
{% macro changed_source_months(source_name) -%}
    {%- set processed = processed_months_relation() -%}
    select s.period
    from {{ ref('stg_ingestion__source_months') }} as s
    {%- if is_incremental() and processed is not none %}
    left join {{ processed }} as p on p.source = s.source and p.period = s.period
    where s.source = '{{ source_name }}' and s.is_available
      and (p.period is null or not p.is_available or p.current_load_id is distinct from s.current_load_id)
    {%- else %}
    where s.source = '{{ source_name }}' and s.is_available
    {%- endif %}
{%- endmacro %}

{#
  The periods a KPI model (re)computes this run, as (grain, period, start_date, end_date):
  full refresh — every loaded month and every year with a loaded month; incremental — the loaded
  months touched by records rewritten since this model last ran or whose source month changed,
  and the loaded years of any touched month.
#}
{% macro kpi_periods(source_name, records=none) -%}
    {%- set months = ref('stg_ingestion__source_months') -%}
    with loaded as (
        select period, year, month_start, month_end from {{ months }}
        where source = '{{ source_name }}' and is_available
    ),
    {%- if is_incremental() %}
    changed as (
        {%- if records is not none %}
        select distinct unnest(touched_months) as period from {{ records }}
        where processed_at > (select coalesce(max(computed_at), '-infinity'::timestamptz) from {{ this }})
        union
        {%- endif %}
        {{ changed_source_months(source_name) }}
    ),
    {%- else %}
    changed as (select period from loaded),
    {%- endif %}
    years as (
        select distinct year from loaded where year in (select left(period, 4) from changed)
    )
    select 'month'::text as grain, period, month_start as start_date, month_end as end_date
    from loaded where period in (select period from changed)
    union all
    select 'year'::text as grain, year as period, to_date(year || '-01-01', 'YYYY-MM-DD') as start_date,
           (to_date(year || '-01-01', 'YYYY-MM-DD') + interval '1 year')::date as end_date
    from years
{%- endmacro %}
