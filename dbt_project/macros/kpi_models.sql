{#
  The per-source KPI models, rendered from one declaration per source (macros/kpi_sources/<source>.sql,
  macro kpi_source__<source>), so the values and the breakdowns of a source read the same rows
  with the same date and the same measure, and a business filter is written once:

    records:        the latest-state model of the source (its touched_months and processed_at
                    decide which periods an incremental run recomputes: all its rows, counted or not)
    counts_in_kpis: which of those rows count in any KPI (none = all), e.g. `not is_revoked`
    city_only:      the records carry no region: city rows only
    roles:          per date role, its date column, an optional extra filter (`where`) and its
                    measures [kpi_code, aggregate expression over `r` (records) and `p` (period),
                    zero_when_empty] — KPIS.md's definitions
    breakdowns:     the dimensions of kpi_breakdown (city rows, one per member of ref_dimension_members)
    hand_written:   the source's int_kpis__ model is written by hand (the statistics return)

  int_kpis__<source> is `{{ kpi_values_model('<source>') }}`, int_breakdowns__<source>
  `{{ kpi_breakdowns_model('<source>') }}`; both tagged, and the unions (int_kpi_observations,
  int_kpi_breakdowns) read every declared source (kpi_union).
#}

{# The declaration of a source; a clear error when there is none. #}
{% macro kpi_source(source_name) -%}
    {%- set declaration = context.get('kpi_source__' ~ source_name) -%}
    {%- if declaration is none -%}
        {{ exceptions.raise_compiler_error("no KPI declaration for source '" ~ source_name
            ~ "': add macros/kpi_sources/" ~ source_name ~ ".sql with macro kpi_source__" ~ source_name) }}
    {%- endif -%}
    {{ return(declaration()) }}
{%- endmacro %}

{# Whether a row of the source's records counts in any KPI, as a boolean expression (the facts' counts_in_kpis). #}
{% macro counts_in_kpis(source_name) -%}
    {%- set condition = kpi_source(source_name).get('counts_in_kpis') -%}
    ({{ condition if condition else 'true' }})
{%- endmacro %}

{# Every declared source, by name (the macros kpi_source__*), sorted. #}
{% macro kpi_sources() -%}
    {%- set names = [] -%}
    {%- for name in context.keys() if name.startswith('kpi_source__') -%}
        {%- do names.append(name[12:]) -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}

{# One config for every per-source KPI model: incremental by (grain, period). #}
{% macro kpi_model_config(tag) -%}
    {{ config(
        materialized='incremental',
        unique_key=['grain', 'period'],
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['grain', 'period']}, {'columns': ['computed_at']}],
        tags=[tag],
    ) }}
{%- endmacro %}

{# The CTEs both models of a source start with: the periods to (re)compute, the rows that count, and per role with a `where` its own rows. #}
{% macro kpi_source_ctes(source_name, source) -%}
    {%- if source.get('hand_written') -%}
        {{ exceptions.raise_compiler_error("the KPI model of '" ~ source_name ~ "' is hand-written (macros/kpi_sources/"
            ~ source_name ~ ".sql): it has no records to render from") }}
    {%- endif -%}
with periods as (
    {{ kpi_periods(source_name, ref(source.records)) }}
),

counted as not materialized (
    select *{{ ", '330200'::text as region_code" if source.get('city_only') }}
    from {{ ref(source.records) }}
    {%- if source.get('counts_in_kpis') %}
    where {{ source.counts_in_kpis }}
    {%- endif %}
),
{%- for role in source.roles if role.get('where') %}

{{ role.role }}_records as not materialized (
    select * from counted where {{ role.where }}
),
{%- endfor %}
{%- endmacro %}

{% macro kpi_role_records(role) -%}
    {{ return(role.role ~ '_records' if role.get('where') else 'counted') }}
{%- endmacro %}

{# int_kpis__<source>: (kpi_code, grain, period, region_code, value) for the city and each district. #}
{% macro kpi_values_model(source_name) -%}
{{ kpi_model_config('kpi_values') }}
{%- set source = kpi_source(source_name) %}
{{ kpi_source_ctes(source_name, source) }}

kpis as (
    {%- for role in source.roles %}
    {{ aggregate_kpis('periods', kpi_role_records(role), role.date_column, role.measures) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select kpi_code, grain, period, region_code, value, {{ run_stamp() }} as computed_at
from kpis
{%- if source.get('city_only') %}
where region_code = '330200'
{%- endif %}
{%- endmacro %}

{# int_breakdowns__<source>: the same measures per member of each breakdown dimension (city rows). #}
{% macro kpi_breakdowns_model(source_name) -%}
{{ kpi_model_config('kpi_breakdowns') }}
{%- set source = kpi_source(source_name) %}
{{ kpi_source_ctes(source_name, source) }}

splits as (
    {%- for dimension in source.breakdowns %}
    {%- set outer = loop %}
    {%- for role in source.roles %}
    {{ aggregate_kpis('periods', kpi_role_records(role), role.date_column, role.measures,
                      split='member', dimension=dimension, member_column=dimension) }}
    {{ "union all" if not (loop.last and outer.last) }}
    {%- endfor %}
    {%- endfor %}
)

select kpi_code, grain, period, region_code, dimension, member, value, {{ run_stamp() }} as computed_at
from splits
{%- endmacro %}

{#
  The models of a kind over the declared sources: 'kpi_values' (int_kpis__<source>), 'kpi_breakdowns'
  (int_breakdowns__<source>, sources with breakdown dimensions), 'records' (the latest-state models
  the KPI models are rendered from; hand-written sources have none).
#}
{% macro kpi_models(kind) -%}
    {%- set models = [] -%}
    {%- for source_name in kpi_sources() -%}
        {%- set source = kpi_source(source_name) -%}
        {%- if kind == 'kpi_values' -%}
            {%- do models.append('int_kpis__' ~ source_name) -%}
        {%- elif kind == 'kpi_breakdowns' and source.get('breakdowns') -%}
            {%- do models.append('int_breakdowns__' ~ source_name) -%}
        {%- elif kind == 'records' and not source.get('hand_written') -%}
            {%- do models.append(source.records) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(models) }}
{%- endmacro %}

{#
  The union of every per-source model of a kind ('kpi_values': int_kpis__<source>, 'kpi_breakdowns':
  int_breakdowns__<source> for the sources with breakdown dimensions). dbt records refs while it
  parses, when `graph` is still empty, so the models come from the declared sources; at run time
  they must equal the models tagged with the kind (kpi_model_config tags them), else the run
  stops naming the difference — a tagged model without a declaration, or a declaration without
  its model.
#}
{% macro kpi_union(kind, columns) -%}
    {%- set models = kpi_models(kind) -%}
    {%- if execute -%}
        {%- set tagged = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and kind in node.tags
                                                 and node.package_name == project_name -%}
            {%- do tagged.append(node.name) -%}
        {%- endfor -%}
        {%- set undeclared = tagged | reject('in', models) | sort -%}
        {%- set untagged = models | reject('in', tagged) | sort -%}
        {%- if undeclared or untagged -%}
            {{ exceptions.raise_compiler_error(this.identifier ~ ": models tagged '" ~ kind ~ "' without a declared source: "
                ~ undeclared ~ "; declared sources' models not tagged '" ~ kind ~ "' (or missing): " ~ untagged
                ~ ". A source is declared by macros/kpi_sources/<source>.sql (after adding one, `dbt parse --no-partial-parse`).") }}
        {%- endif -%}
    {%- endif -%}
    {%- for model in models %}
select {{ columns | join(', ') }} from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
