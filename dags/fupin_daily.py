"""The daily Airflow DAG of the poverty-alleviation warehouse.

extract (operational PostgreSQL -> raw, the run's data interval) -> load_sheets (drop folder -> raw_sheets,
quarantine) -> transform (one ``dbt build``) -> check (quality gate) -> publish (atomic swap) -> summary.

Every task calls the same function as the ``fupin`` command line (``fupin.pipeline``); heavy imports happen
inside the tasks, never when the scheduler parses this file.

One writer: ``max_active_runs=1``, every task in the one-slot pool ``fupin_warehouse``, and the pipeline's own
file lock on the build warehouse (which also keeps a command-line run and an Airflow run apart). Backfills
(``airflow backfill create --dag-id fupin_daily --from-date D1 --to-date D2 --max-active-runs 1``) run one
day after another; each run extracts only its own day and dbt adds it, so cost grows with the range.

The extract retries with exponential back-off (the source database may be briefly unreachable); later steps
do not retry on their own, their failures are data or code problems. A failure is logged with the task, the
data interval and the reason, and stops the run before ``publish``: readers keep the last good warehouse.

dbt runs as one ``dbt build`` task rather than one task per model (astronomer-cosmos), measured with
``benchmarks/cosmos_vs_build.py`` on the XS county (340 dbt nodes, 2 busy cores): one ``dbt build`` task took
914 s in ``airflow dags test`` (stopping on a model then being rewritten). The cosmos DAG did not load with the
default 30 s import timeout, because cosmos runs ``dbt ls`` at every parse of the file; with it raised, the
parse took 8 min and each of its 62 tasks (one per model and seed) 17 to 32 s: about 33 min in all.
``dbt build`` reports each model and test in the task's log.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

POOL = "fupin_warehouse"  # one slot: one task at a time writes the build warehouse
log = logging.getLogger("fupin.alerts")


def _settings():
    from fupin.settings import get_settings

    return get_settings()


def _alert_failure(context) -> None:
    """Log a failure with the task, the data interval and the reason (the run publishes nothing)."""
    ti = context.get("ti") or context.get("task_instance")
    log.error(
        "FUPIN ALERT: dag %s task %s failed (try %s) for data interval [%s, %s): %s: %s. "
        "Nothing was published; readers keep the last good warehouse.",
        getattr(ti, "dag_id", "fupin_daily"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "try_number", "?"),
        context.get("data_interval_start"),
        context.get("data_interval_end"),
        type(context.get("exception")).__name__,
        context.get("exception"),
    )


@dag(
    dag_id="fupin_daily",
    # A run covers one day: its data interval is [day 00:00, next day 00:00) in the county's time zone.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2017, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "pool": POOL,
        "retries": 0,
        "on_failure_callback": _alert_failure,
    },
    tags=["fupin"],
    doc_md=__doc__,
)
def fupin_daily():
    @task(retries=3, retry_delay=pendulum.duration(seconds=30), retry_exponential_backoff=True)
    def extract(data_interval_start=None, data_interval_end=None) -> dict:
        """Load the rows the operational database changed during the run's data interval into raw."""
        from fupin import pipeline

        return pipeline.extract(
            _settings(),
            batch_id=pipeline.new_batch_id(data_interval_start),
            since=data_interval_start,
            until=data_interval_end,
        )

    @task
    def load_sheets(extracted: dict, data_interval_start=None) -> dict:
        """Load the spreadsheets dropped by towns and villages; rejected rows go to quarantine."""
        from fupin import pipeline

        return pipeline.load_sheets(_settings(), batch_id=pipeline.new_batch_id(data_interval_start))

    @task
    def transform(loaded: dict) -> dict:
        """dbt build: staging, core and marts, with their tests; incremental models add what was loaded."""
        from fupin import pipeline

        return pipeline.transform(_settings())

    @task
    def check(transformed: dict, data_interval_start=None) -> dict:
        """Quality gate: a blocking failure stops here and the published warehouse stays as it was."""
        from fupin import pipeline

        settings = _settings()
        with pipeline.writer_lock(settings, "check"):
            return pipeline.check(settings, run_id=pipeline.new_batch_id(data_interval_start))

    @task
    def publish(checked: dict, data_interval_start=None, data_interval_end=None) -> dict:
        """Swap the checked build in, atomically, as the file readers open; keep the previous one."""
        from fupin import pipeline

        return pipeline.publish(
            _settings(), run_id=pipeline.new_batch_id(data_interval_start), interval_end=data_interval_end
        )

    @task
    def summary(published: dict, checked: dict, extracted: dict) -> dict:
        """Log the run's summary: rows per layer, the quality result, the published version."""
        from fupin import pipeline

        return pipeline.run_summary(
            _settings(),
            {"extracted_rows": extracted["rows"], "check": checked, "publish": published},
        )

    extracted = extract()
    checked = check(transform(load_sheets(extracted)))
    summary(publish(checked), checked, extracted)


fupin_daily()
