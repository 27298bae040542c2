-- The simulator's own state, outside the APP's schema (the warehouse extracts schema app only):
-- the simulated clock, the id counters of advance-a-day, and the ground truth of the planted anomalies.

create schema if not exists sim;

create table sim.clock (
    clock_id    int primary key check (clock_id = 1),
    scale       text not null,
    seed        bigint not null,
    as_of       date not null,
    days_advanced int not null default 0
);

create table sim.anomalies (
    kind        text not null,
    key_name    text not null,
    key_value   text not null,
    planted_on  date not null,
    primary key (kind, key_value)
);
