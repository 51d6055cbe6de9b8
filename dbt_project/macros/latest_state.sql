{#
  Latest state per record id.

  change_feed_current — change feeds (court, AMR cases): every version is held once in raw; the
  largest `updated_at` per id wins (never "the last month loaded"). Incremental: only versions
  from loads newer than the last processed one are read, and merged with the row held.

  file_feed_current — file feeds (customs, police, finance): the record's row in the latest
  *period* file (that month's current load) that contains it. A re-issued file replaces its month:
  ids it dropped fall back to an older file, or become tombstones (`is_present = false`).
  Incremental: only ids found in any load of a month whose current load changed are recomputed.

  Both keep `touched_months` (every month any version of the record is dated in, for the KPI
  models) and `processed_at`.
#}

{% macro change_feed_current(source_name, staging, id, columns, month_columns) -%}
with new_versions as (
    select * from {{ staging }}
    where load_id <= {{ snapshot_max_load_id(source_name) }}
    {%- if is_incremental() %}
      and load_id > (select coalesce(max(max_load_id_seen), 0) from {{ this }})
    {%- endif %}
),

candidates as (
    select {{ id }}, {{ columns | join(', ') }}, updated_at, load_id,
           array[{{ month_columns | join(', ') }}]::text[] as months,
           load_id as max_load_id_seen
    from new_versions
    {%- if is_incremental() %}
    union all
    select {{ id }}, {{ columns | join(', ') }}, updated_at, load_id, touched_months, max_load_id_seen
    from {{ this }}
    where {{ id }} in (select {{ id }} from new_versions)
    {%- endif %}
),

latest as (
    select distinct on ({{ id }}) *
    from candidates
    order by {{ id }}, updated_at desc, load_id desc
),

history as (
    select c.{{ id }},
           array_agg(distinct m.month order by m.month) filter (where m.month is not null) as touched_months,
           max(c.max_load_id_seen) as max_load_id_seen
    from candidates as c
    cross join lateral unnest(c.months) as m(month)
    group by c.{{ id }}
)

select
    l.{{ id }},
    {%- for c in columns %}
    l.{{ c }},
    {%- endfor %}
    l.updated_at,
    l.load_id,
    coalesce(h.touched_months, array[]::text[]) as touched_months,
    h.max_load_id_seen,
    {{ run_stamp() }} as processed_at
from latest as l
join history as h on h.{{ id }} = l.{{ id }}
{%- endmacro %}


{% macro file_rows_append(source_name, staging) -%}
select *
from {{ staging }}
where load_id <= {{ snapshot_max_load_id(source_name) }}
{%- if is_incremental() %}
  and load_id > (select coalesce(max(load_id), 0) from {{ this }})
{%- endif %}
{%- endmacro %}


{% macro file_feed_current(source_name, file_rows, id, columns, month_columns) -%}
with current_loads as (
    select current_load_id as load_id
    from {{ ref('stg_ingestion__source_months') }}
    where source = '{{ source_name }}' and is_available
),

changed_months as (
    {{ changed_source_months(source_name) }}
),

affected as (
    select distinct {{ id }}
    from {{ file_rows }}
    where file_period in (select period from changed_months)
),

candidates as (
    select r.*
    from {{ file_rows }} as r
    where r.load_id in (select load_id from current_loads)
      and r.{{ id }} in (select {{ id }} from affected)
),

latest as (
    select distinct on ({{ id }}) *
    from candidates
    order by {{ id }}, file_period desc, load_id desc, source_page desc, source_row desc
),

history as (
    select r.{{ id }}, array_agg(distinct m.month order by m.month) as touched_months
    from {{ file_rows }} as r
    cross join lateral unnest(array[{{ month_columns | join(', ') }}]::text[]) as m(month)
    where r.{{ id }} in (select {{ id }} from affected) and m.month is not null
    group by r.{{ id }}
)

select
    a.{{ id }},
    {%- for c in columns %}
    l.{{ c }},
    {%- endfor %}
    l.file_period,
    l.load_id,
    l.{{ id }} is not null as is_present,
    coalesce(h.touched_months, array[]::text[]) as touched_months,
    {{ run_stamp() }} as processed_at
from affected as a
left join latest as l on l.{{ id }} = a.{{ id }}
left join history as h on h.{{ id }} = a.{{ id }}
{%- endmacro %}
