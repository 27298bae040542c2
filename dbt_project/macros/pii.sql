{#- Personal data is handled here and only here: a salted hash as the key, a masked form for display. -#}
{% macro pii_hash(column) -%}
    case when {{ column }} is not null then sha256('{{ var("pii_salt") }}' || {{ column }}) end
{%- endmacro %}

{% macro pii_mask(column, keep_head=6, keep_tail=4) -%}
    case
        when {{ column }} is null then null
        when length({{ column }}) <= {{ keep_head + keep_tail }} then repeat('*', length({{ column }}))
        else left({{ column }}, {{ keep_head }})
            || repeat('*', length({{ column }}) - {{ keep_head + keep_tail }})
            || right({{ column }}, {{ keep_tail }})
    end
{%- endmacro %}
