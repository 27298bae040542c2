-- The mobile APP's operational database: regions, households, persons, incomes, living conditions, cadres and
-- support teams, twinning, visits, GPS trajectories, demands, tasks and status-change events.
-- Every table has created_at / updated_at (the warehouse extracts incrementally by updated_at, indexed);
-- rows the APP keeps history of are deleted softly (deleted_at).

create schema if not exists app;

create table app.regions (
    region_code   text primary key check (region_code ~ '^\d{6}(\d{3}(\d{3})?)?$'),
    parent_code   text null references app.regions (region_code),
    region_level  text not null check (region_level in ('county', 'town', 'village')),
    region_name   text not null,
    lat           double precision,
    lon           double precision,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    deleted_at    timestamptz null,
    check (
        (region_level = 'county' and length(region_code) = 6)
        or (region_level = 'town' and length(region_code) = 9 and region_code like parent_code || '%')
        or (region_level = 'village' and length(region_code) = 12 and region_code like parent_code || '%')
    )
);
create index regions_updated_at on app.regions (updated_at);
create index regions_parent on app.regions (parent_code);

create table app.households (
    household_id       bigint primary key,
    village_code       text not null references app.regions (region_code),
    head_name          text not null,
    address            text,
    lat                double precision,
    lon                double precision,
    attribute          text not null check (attribute in ('一般贫困户', '低保贫困户', '特困供养贫困户')),
    main_cause         text not null,
    secondary_cause    text null,
    status_label       text not null check (status_label in ('red', 'yellow', 'green')),
    registration_year  int not null,
    planned_exit_year  int null,
    actual_exit_year   int null,
    created_at         timestamptz not null,
    updated_at         timestamptz not null,
    deleted_at         timestamptz null
);
create index households_updated_at on app.households (updated_at);
create index households_village on app.households (village_code);

create table app.persons (
    person_id         bigint primary key,
    household_id      bigint not null references app.households (household_id),
    name              text not null,
    id_number         text not null check (length(id_number) = 18),
    phone             text null,
    relation_to_head  text not null,
    sex               text not null check (sex in ('男', '女')),
    birth_date        date not null,
    schooling         text not null,
    health            text not null,
    labour_ability    text not null,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    deleted_at        timestamptz null
);
create index persons_updated_at on app.persons (updated_at);
create index persons_household on app.persons (household_id);
create index persons_id_number on app.persons (id_number);

-- Annual income by source; per-capita net income = (all income - operating cost) / household size.
create table app.incomes (
    income_id              bigint primary key,
    household_id           bigint not null references app.households (household_id),
    year                   int not null,
    household_size         int not null check (household_size > 0),
    wage_income            numeric(12, 2) not null,
    operating_income       numeric(12, 2) not null,
    operating_cost         numeric(12, 2) not null,
    transfer_income        numeric(12, 2) not null,
    property_income        numeric(12, 2) not null,
    net_income             numeric(12, 2) not null,
    per_capita_net_income  numeric(12, 2) not null,
    verified_on            date null,
    created_at             timestamptz not null,
    updated_at             timestamptz not null,
    deleted_at             timestamptz null,
    unique (household_id, year)
);
create index incomes_updated_at on app.incomes (updated_at);

-- The "two no-worries and three guarantees" (两不愁三保障), safe drinking water and the house safety grade
-- (A/B safe, C/D dangerous), as last assessed.
create table app.living_conditions (
    household_id            bigint primary key references app.households (household_id),
    assessed_on             date not null,
    food_secure             boolean not null,
    clothing_secure         boolean not null,
    education_guaranteed    boolean not null,
    medical_guaranteed      boolean not null,
    housing_guaranteed      boolean not null,
    safe_drinking_water     boolean not null,
    house_safety_grade      text not null check (house_safety_grade in ('A', 'B', 'C', 'D')),
    created_at              timestamptz not null,
    updated_at              timestamptz not null,
    deleted_at              timestamptz null
);
create index living_conditions_updated_at on app.living_conditions (updated_at);

create table app.support_teams (
    team_id        bigint primary key,
    team_name      text not null,
    village_code   text not null references app.regions (region_code),
    sponsor_unit   text not null,
    leader_cadre_id bigint null,
    created_at     timestamptz not null,
    updated_at     timestamptz not null,
    deleted_at     timestamptz null
);
create index support_teams_updated_at on app.support_teams (updated_at);

create table app.cadres (
    cadre_id      bigint primary key,
    name          text not null,
    sex           text not null check (sex in ('男', '女')),
    phone         text not null,
    work_unit     text not null,
    role          text not null,
    town_code     text not null references app.regions (region_code),
    village_code  text null references app.regions (region_code),
    team_id       bigint null references app.support_teams (team_id),
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    deleted_at    timestamptz null
);
create index cadres_updated_at on app.cadres (updated_at);
alter table app.support_teams
    add constraint support_teams_leader_fk foreign key (leader_cadre_id) references app.cadres (cadre_id)
    deferrable initially deferred;

-- Twinning (结对帮扶): a cadre helps a household from start_date to end_date (null = still helping).
create table app.twinnings (
    twinning_id   bigint primary key,
    cadre_id      bigint not null references app.cadres (cadre_id),
    household_id  bigint not null references app.households (household_id),
    start_date    date not null,
    end_date      date null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    deleted_at    timestamptz null,
    check (end_date is null or end_date >= start_date)
);
create index twinnings_updated_at on app.twinnings (updated_at);
create index twinnings_household on app.twinnings (household_id);
create index twinnings_cadre on app.twinnings (cadre_id);

create table app.visits (
    visit_id      bigint primary key,
    cadre_id      bigint not null references app.cadres (cadre_id),
    household_id  bigint not null references app.households (household_id),
    started_at    timestamptz not null,
    ended_at      timestamptz not null,
    claimed_lat   double precision,
    claimed_lon   double precision,
    notes         text,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    deleted_at    timestamptz null,
    check (ended_at >= started_at)
);
create index visits_updated_at on app.visits (updated_at);
create index visits_cadre_started on app.visits (cadre_id, started_at);

-- GPS trajectory points, recorded while the APP's positioning is on (cadres switch it on for a visit trip).
create table app.gps_points (
    point_id     bigint primary key,
    cadre_id     bigint not null,
    recorded_at  timestamptz not null,
    lat          double precision not null,
    lon          double precision not null,
    accuracy_m   real not null,
    created_at   timestamptz not null,
    updated_at   timestamptz not null
);

create table app.demands (
    demand_id     bigint primary key,
    household_id  bigint not null references app.households (household_id),
    category      text not null,
    description   text,
    raised_at     timestamptz not null,
    status        text not null check (status in ('pending', 'in_progress', 'completed', 'rejected')),
    completed_at  timestamptz null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    deleted_at    timestamptz null
);
create index demands_updated_at on app.demands (updated_at);
create index demands_household on app.demands (household_id);

create table app.tasks (
    task_id            bigint primary key,
    issued_by          bigint not null references app.cadres (cadre_id),
    assignee_cadre_id  bigint not null references app.cadres (cadre_id),
    household_id       bigint null references app.households (household_id),
    demand_id          bigint null references app.demands (demand_id),
    title              text not null,
    issued_at          timestamptz not null,
    due_date           date not null,
    status             text not null check (status in ('pending', 'in_progress', 'completed', 'cancelled')),
    completed_at       timestamptz null,
    created_at         timestamptz not null,
    updated_at         timestamptz not null,
    deleted_at         timestamptz null,
    check (household_id is not null or demand_id is not null)
);
create index tasks_updated_at on app.tasks (updated_at);
create index tasks_assignee on app.tasks (assignee_cadre_id);

-- Every change of a household's status label, with the label before (null at registration) and after.
create table app.status_events (
    event_id      bigint primary key,
    household_id  bigint not null references app.households (household_id),
    event_at      timestamptz not null,
    from_label    text null check (from_label in ('red', 'yellow', 'green')),
    to_label      text not null check (to_label in ('red', 'yellow', 'green')),
    reason        text not null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null
);
create index status_events_updated_at on app.status_events (updated_at);
create index status_events_household on app.status_events (household_id);
