{#
  Helpers of the published models (BI additions of MART.md).

  period_start / period_end: the text period (YYYY or YYYY-MM) as dates, end exclusive, so BI tools
  get a real date axis next to `period`.
#}
{% macro period_start(period, grain=none) -%}
    {%- if grain is none -%}
    to_date({{ period }} || '-01', 'YYYY-MM-DD')
    {%- else -%}
    (case when {{ grain }} = 'year' then to_date({{ period }} || '-01-01', 'YYYY-MM-DD')
          else to_date({{ period }} || '-01', 'YYYY-MM-DD') end)
    {%- endif -%}
{%- endmacro %}

{% macro period_end(period, grain=none) -%}
    {%- if grain is none -%}
    (to_date({{ period }} || '-01', 'YYYY-MM-DD') + interval '1 month')::date
    {%- else -%}
    (case when {{ grain }} = 'year' then (to_date({{ period }} || '-01-01', 'YYYY-MM-DD') + interval '1 year')::date
          else (to_date({{ period }} || '-01', 'YYYY-MM-DD') + interval '1 month')::date end)
    {%- endif -%}
{%- endmacro %}

{#
  Keys of a published table, added by a post-hook once dbt has built it (and renamed it into
  place): a primary key on the relation's grain and foreign keys to other published tables (the
  model must `-- depends_on:` them, so they exist with their own keys first). Constraints are left
  unnamed: Postgres names them <table>_pkey / <table>_<column>_fkey (a rebuild's backup keeps the
  old names until dbt drops it).
    primary_key: list of columns
    foreign_keys: list of {columns: [...], to: model name, to_columns: [...]}
#}
{% macro published_keys(primary_key, foreign_keys=[]) -%}
    alter table {{ this }} add primary key ({{ primary_key | join(', ') }})
    {%- for fk in foreign_keys %};
    alter table {{ this }} add foreign key ({{ fk['columns'] | join(', ') }})
        references {{ ref(fk['to']) }} ({{ (fk.get('to_columns') or fk['columns']) | join(', ') }})
    {%- endfor %}
{%- endmacro %}

{#
  The KPIs, in catalogue order (for the wide view's columns and their comments). Read at run time
  from the seeds; empty while dbt only parses.
#}
{% macro kpi_list() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set result = run_query(
        "select c.kpi_code, c.name_zh, c.name_en, c.unit, p.year_rollup from " ~ ref('ref_kpi_catalogue')
        ~ " as c join " ~ ref('ref_kpi_properties') ~ " as p using (kpi_code) order by p.sort_order") -%}
    {{ return(result.rows) }}
{%- endmacro %}

{# Chinese (then English) comments on the wide view's KPI columns, from the catalogue. #}
{% macro comment_kpi_columns() -%}
    {%- for k in kpi_list() %}
    comment on column {{ this }}.{{ adapter.quote(k[0]) }} is {{ sql_text(k[1] ~ '（' ~ k[3] ~ '）年值 ' ~ k[2] ~ ', year value in ' ~ k[3] ~ ' (months roll up by ' ~ k[4] ~ '); 空值 = 无数据 NULL = no cell') }};
    {%- endfor %}
    select 1
{%- endmacro %}

{% macro sql_text(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
