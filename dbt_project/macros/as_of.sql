{#-
    The day the data stands at: every mart measures "now" from here, never from current_date (the simulated
    county lives in 2017). A scalar subquery on core.data_as_of; `--vars '{as_of_date: 2017-12-01}'` pins it.
-#}
{% macro as_of_date() -%}
    (select data_as_of.as_of_date from {{ ref('data_as_of') }} as data_as_of)
{%- endmacro %}

{#- A threshold of seed exit_thresholds, by name, as a number. -#}
{% macro threshold(name) -%}
    (
        select exit_thresholds.threshold_value::double
        from {{ ref('exit_thresholds') }} as exit_thresholds
        where exit_thresholds.threshold = '{{ name }}'
    )
{%- endmacro %}
