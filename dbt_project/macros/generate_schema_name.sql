{# The warehouse's schemas are the layers themselves (staging, intermediate, marts): no prefixes.
   The published models go to the publication attempt's own candidate schema (var candidate_schema,
   set by ipkpi.pipeline.transform), so two runs never build into the same one. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name == 'publish_candidate' -%}
        {{ var('candidate_schema', 'publish_candidate') }}
    {%- else -%}
        {{ custom_schema_name if custom_schema_name is not none else target.schema }}
    {%- endif -%}
{%- endmacro %}
