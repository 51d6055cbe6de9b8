{# The warehouse's schemas are the layers themselves (staging, intermediate, marts): no prefixes. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
