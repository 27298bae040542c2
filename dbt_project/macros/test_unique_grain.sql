{#- A row is unique over several columns (the grain of a mart). -#}
{% test unique_grain(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
