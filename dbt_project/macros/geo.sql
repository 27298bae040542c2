{#- Great-circle distance in metres between two WGS 84 points (haversine, mean Earth radius 6371008.8 m). -#}
{% macro haversine_m(lat1, lon1, lat2, lon2) -%}
    2 * 6371008.8 * asin(sqrt(
        pow(sin(radians({{ lat2 }} - {{ lat1 }}) / 2), 2)
        + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }}))
        * pow(sin(radians({{ lon2 }} - {{ lon1 }}) / 2), 2)
    ))
{%- endmacro %}

{#-
    The calendar day of a timestamp in the county's local time: UTC+8 (Beijing time; China has kept no
    daylight saving since 1991, so a fixed offset is exact). Integer arithmetic on the epoch: about 20 times
    faster than an ICU time-zone conversion, which matters on 10 M+ GPS points.
-#}
{% macro local_date(column) -%}
    cast(make_timestamp(epoch_us({{ column }}) + {{ var("local_utc_offset_hours", 8) }} * 3600000000) as date)
{%- endmacro %}

{#- The id of the dbt invocation writing a row (lineage of incremental facts: which build wrote it). -#}
{% macro build_invocation_id() -%}
    '{{ invocation_id }}'
{%- endmacro %}
