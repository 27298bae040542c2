{#-
    string_agg(value, separator order by keys), without DuckDB's ordered aggregate: that one keeps every
    group's rows in memory beside the hash table and cannot spill. At scale M the household card's member
    list (10 M persons in 4.1 M households) failed at a 2 GiB limit that way; collected as a list of structs,
    sorted and joined, it runs within 2 GiB, in 15 s. NULL values are skipped and a group with none gives
    NULL, as string_agg does; ties are broken by the value itself, so the text is the same every build.
    order_by: SQL expressions, each ascending with NULLs last; negate a key for descending order
    (`not is_head`, `-weight`). where: an optional filter of the rows (an aggregate FILTER clause).
-#}
{% macro sorted_string_agg(value, separator, order_by, where=none) -%}
    array_to_string(
        list_transform(
            list_sort(
                list(
                    struct_pack(
                        {%- for key in order_by %}
                            k{{ loop.index }} := {{ key }},
                        {%- endfor %}
                        v := {{ value }}
                    )
                ) filter (where ({{ value }}) is not null{% if where %} and ({{ where }}){% endif %})
            ),
            x -> x.v
        ),
        {{ separator }}
    )
{%- endmacro %}
