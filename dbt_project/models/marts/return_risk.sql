-- Return-to-poverty early warning: exited (green) households showing signals of seed return_risk_signals
-- (income near or under the line, falling income, illness or disability, no labour, a missing guarantee, a
-- shock cause, a new shock demand), scored by the signals' weights and ranked, highest risk first.
--
-- Incremental by household (macros/incremental_marts.sql): a run deletes and scores again the households
-- whose row, members, incomes, living conditions (the audit's guarantees) or demands changed, and those with
-- a shock demand entering or leaving the recent days; a household without signals leaves the list. The
-- post-hook ranks the whole list again.
-- depends_on: {{ ref('stg_app__living_conditions') }}
-- depends_on: {{ ref('stg_app__demands') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        meta={'refresh': {
            'upstream': ['dim_household', 'fct_income', 'dim_person'],
            'loaded': ['stg_app__living_conditions', 'stg_app__demands'],
            'windows': [{
                'model': 'fct_demand',
                'date': 'raised_date',
                'days': [0, 'return_risk_recent_days'],
            }],
        }},
        pre_hook="{{ delete_households_to_refresh() }}",
        post_hook=["{{ move_to_as_of_day() }}", "{{ rank_return_risks() }}"],
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at', 'as_of_date']) }}

{% set changed = households_to_refresh() %}

with

households as (

    select * from {{ ref('dim_household') }}
    where status_label = 'green' and not is_deleted and {{ in_households('household_id', changed) }}

),

incomes as (

    select * from {{ ref('fct_income') }}
    where is_latest and {{ in_households('household_id', changed) }}

),

persons as (

    select * from {{ ref('dim_person') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

audit as (

    select * from {{ ref('exit_audit') }}
    where {{ in_households('household_id', changed) }}

),

demands as (

    select * from {{ ref('fct_demand') }}
    where {{ in_households('household_id', changed) }}

),

causes as (

    select * from {{ ref('poverty_causes') }}

),

shock_categories as (

    select * from {{ ref('shock_demand_categories') }}

),

signals as (

    select * from {{ ref('return_risk_signals') }}

),

member_flags as (

    select
        household_id,
        bool_or(is_seriously_ill) as any_serious,
        bool_or(is_ill and not is_seriously_ill) as any_chronic,
        bool_or(is_disabled) as any_disabled,
        not bool_or(is_labour) as no_labour
    from persons
    group by household_id

),

recent_shocks as (

    select
        demands.household_id,
        max(demands.raised_date) as last_shock_date
    from demands
    inner join shock_categories
        on demands.demand_category = shock_categories.demand_category
    where
        demands.raised_date > {{ as_of_date() }} - {{ threshold('return_risk_recent_days') }}::integer
        and demands.raised_date <= {{ as_of_date() }}
    group by demands.household_id

),

flags as (

    select
        households.household_id,
        incomes.ratio_to_line < {{ threshold('exit_income_ratio') }} as below_line,
        incomes.ratio_to_line >= {{ threshold('exit_income_ratio') }}
        and incomes.ratio_to_line < {{ threshold('return_risk_near_line_ratio') }} as near_line,
        incomes.per_capita_change < 0 as falling_income,
        member_flags.any_serious as serious_illness,
        member_flags.any_chronic as chronic_illness,
        member_flags.any_disabled as disability,
        member_flags.no_labour,
        coalesce(audit.fails_guarantee, false) as lacks_guarantee,
        coalesce(main_cause.is_shock, false) or coalesce(second_cause.is_shock, false) as shock_cause,
        recent_shocks.household_id is not null as recent_shock_demand
    from households
    left join incomes
        on households.household_id = incomes.household_id
    left join member_flags
        on households.household_id = member_flags.household_id
    left join audit
        on households.household_id = audit.household_id
    left join causes as main_cause
        on households.main_poverty_cause = main_cause.poverty_cause
    left join causes as second_cause
        on households.secondary_poverty_cause = second_cause.poverty_cause
    left join recent_shocks
        on households.household_id = recent_shocks.household_id

),

raised as (

    select
        household_id,
        'below_line' as signal_code
    from flags
    where below_line
    union all
    select
        household_id,
        'near_line' as signal_code
    from flags
    where near_line
    union all
    select
        household_id,
        'falling_income' as signal_code
    from flags
    where falling_income
    union all
    select
        household_id,
        'serious_illness' as signal_code
    from flags
    where serious_illness
    union all
    select
        household_id,
        'chronic_illness' as signal_code
    from flags
    where chronic_illness
    union all
    select
        household_id,
        'disability' as signal_code
    from flags
    where disability
    union all
    select
        household_id,
        'no_labour' as signal_code
    from flags
    where no_labour
    union all
    select
        household_id,
        'lacks_guarantee' as signal_code
    from flags
    where lacks_guarantee
    union all
    select
        household_id,
        'shock_cause' as signal_code
    from flags
    where shock_cause
    union all
    select
        household_id,
        'recent_shock_demand' as signal_code
    from flags
    where recent_shock_demand

),

scored as (

    select
        raised.household_id,
        sum(signals.weight) as risk_score,
        count(*) as signals_raised,
        {{ sorted_string_agg('signals.signal_name', "'、'", ['-signals.weight', 'signals.signal_code']) }}
            as reasons,
        bool_or(signals.signal_code in ('below_line', 'near_line', 'falling_income')) as has_income_signal
    from raised
    inner join signals
        on raised.signal_code = signals.signal_code
    group by raised.household_id

),

final as (

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.county_name,
        households.town_name,
        households.village_name,
        households.head_name,
        households.household_size,
        households.actual_exit_year as exit_year,
        scored.risk_score,
        rank() over (order by scored.risk_score desc) as risk_rank,
        scored.signals_raised,
        scored.reasons,
        scored.has_income_signal,
        incomes.income_year as latest_income_year,
        incomes.per_capita_net_income as latest_income,
        incomes.poverty_line_yuan as line,  -- noqa: RF04
        incomes.ratio_to_line,
        incomes.previous_per_capita_net_income as previous_income,
        incomes.per_capita_change as income_change,
        {{ as_of_date() }} as as_of_date,
        {{ sources_extracted_at(['stg_app__living_conditions', 'stg_app__demands']) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from scored
    inner join households
        on scored.household_id = households.household_id
    left join incomes
        on scored.household_id = incomes.household_id

)

select * from final
