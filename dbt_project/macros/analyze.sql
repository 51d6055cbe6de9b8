{#
  Fresh planner statistics for a table the run just (re)wrote: without them Postgres plans the
  next model's joins on default estimates (a handful of rows) and picks nested loops.
#}
{% macro analyze_relation() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
