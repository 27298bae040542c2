{#-
    Household marts incremental by household (visit_frequency, exit_audit, return_risk, household_card).

    A mart names what its rows depend on in its config, meta.refresh:
    - upstream: household-keyed models whose rows carry dbt_built_at (a household whose rows an upstream
      build wrote after this mart's latest build must be redone);
    - loaded: staging models whose rows carry extracted_at (a household with rows loaded after this mart's
      greatest source_extracted_at must be redone);
    - windows: dated rows whose household's figures move with the as-of day: {'model', 'date', 'days'}, a
      household with a date d such that d + days lies in (previous as-of day, new as-of day] must be redone
      (a visit leaving the last 90 days, a twinning ending, a demand raised after the previous as-of day);
      days are whole numbers or the name of a threshold of seed exit_thresholds;
    - twinned_cadres: true when the mart shows its households' helpers: the households twinned with a cadre
      loaded after the mark (a renamed cadre) must be redone.
    A model names in `-- depends_on:` comments the models of its meta.refresh that its SQL does not read.

    A run deletes those households' rows (pre-hook delete_households_to_refresh) and inserts them again: a
    household that no longer belongs in the mart (an audit passed, a risk gone) leaves it. Figures that move
    with the as-of day for every row (days since the last visit, a rank) are set by a post-hook update on the
    rows not rebuilt. The whole mart is rebuilt when it is empty or the as-of day moved back (a backfill of an
    earlier day). A changed seed (thresholds, signals) needs `--full-refresh`, as for fct_income.
-#}

{#- This mart's marks, read as literals: its latest build, greatest source_extracted_at and as-of day. -#}
{% macro mart_marks() -%}
    {% set row = run_query(
        "select coalesce(cast(max(dbt_built_at) as varchar), '-infinity'),"
        ~ " coalesce(cast(max(source_extracted_at) as varchar), '-infinity'),"
        ~ " cast(max(as_of_date) as varchar),"
        ~ " (select cast(as_of_date as varchar) from " ~ ref('data_as_of') ~ ")"
        ~ " from " ~ this
    ).rows[0] %}
    {{ return({'built': row[0], 'extracted': row[1], 'as_of': row[2], 'new_as_of': row[3]}) }}
{%- endmacro %}

{#-
    A query of the household_id this run must rebuild, from the model's meta.refresh; none when every
    household is rebuilt (not incremental, an empty mart, an as-of day earlier than the mart's).
-#}
{% macro households_to_refresh() -%}
    {% if not (execute and is_incremental()) %}
        {{ return(none) }}
    {% endif %}
    {% set refresh = model.config.meta.refresh %}
    {% set marks = mart_marks() %}
    {% if marks.as_of is none or marks.new_as_of < marks.as_of %}
        {{ return(none) }}
    {% endif %}
    {%- set query -%}
        select null::bigint as household_id where false
        {%- for name in refresh.get('upstream', []) %}
            union
            {{ households_rebuilt_after(name, marks.built) }}
        {%- endfor %}
        {%- if refresh.get('loaded') %}
            union
            {{ households_loaded_after(refresh.loaded, marks.extracted) }}
        {%- endif %}
        {%- if marks.new_as_of > marks.as_of %}
            {%- for window in refresh.get('windows', []) %}
                {%- for days in window.days %}
                    {%- set shift = threshold(days) if days is string else days %}
                    union
                    select dated.household_id from {{ ref(window.model) }} as dated
                    where
                        dated.{{ window.date }} + cast({{ shift }} as integer)
                        > cast('{{ marks.as_of }}' as date)
                        and dated.{{ window.date }} + cast({{ shift }} as integer)
                        <= cast('{{ marks.new_as_of }}' as date)
                {%- endfor %}
            {%- endfor %}
        {%- endif %}
        {%- if refresh.get('twinned_cadres') %}
            union
            select twinned.household_id from {{ ref('fct_twinning') }} as twinned
            where twinned.cadre_id in (
                select loaded.cadre_id from {{ ref('stg_app__cadres') }} as loaded
                where loaded.extracted_at > cast('{{ marks.extracted }}' as timestamptz)
            )
        {%- endif %}
    {%- endset -%}
    {{ return(query) }}
{%- endmacro %}

{#- Pre-hook: delete the rows of the households the run rebuilds (every row when it rebuilds them all). -#}
{% macro delete_households_to_refresh() -%}
    {%- if is_incremental() -%}
        {%- set changed = households_to_refresh() -%}
        delete from {{ this }}
        {%- if changed is not none %}
            where household_id in ({{ changed }})
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#-
    Post-hook: move the rows not rebuilt to the new as-of day, setting the columns of `sets` (column: SQL
    expression, in which {as_of} stands for the new as-of day) on them.
-#}
{% macro move_to_as_of_day(sets={}) -%}
    {%- if is_incremental() -%}
        {%- set as_of = as_of_date() -%}
        update {{ this }}
        set
            as_of_date = {{ as_of }}
            {%- for column, expression in sets.items() %},
            {{ column }} = {{ expression.replace('{as_of}', as_of) }}
            {%- endfor %}
        where as_of_date is distinct from {{ as_of }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of return_risk: rank the whole list again after an incremental run (ties share a rank). -#}
{% macro rank_return_risks() -%}
    {%- if is_incremental() -%}
        update {{ this }} as risks
        set risk_rank = ranked.risk_rank
        from (
            select
                household_id,
                rank() over (order by risk_score desc) as risk_rank
            from {{ this }}
        ) as ranked
        where risks.household_id = ranked.household_id and risks.risk_rank is distinct from ranked.risk_rank
    {%- endif -%}
{%- endmacro %}
