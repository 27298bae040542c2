"""The daily Airflow DAG of the poverty-alleviation warehouse.

extract (operational PostgreSQL -> raw) -> load_sheets (drop folder -> raw_sheets, quarantine) -> transform (dbt build) -> check (quality gate) -> publish.
Every task calls the same function as the ``fupin`` command line (``fupin.pipeline``); heavy imports happen
inside the tasks, never when the scheduler parses this file. One run at a time writes the build warehouse.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


def _settings():
    from fupin.settings import get_settings

    return get_settings()


@dag(
    dag_id="fupin_daily",
    # A run covers one day: its data interval is [day 00:00, next day 00:00) in the county's time zone.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2017, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=30),
        "retry_exponential_backoff": True,
    },
    tags=["fupin"],
    doc_md=__doc__,
)
def fupin_daily():
    @task
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

    @task(retries=0)
    def transform(loaded: dict) -> dict:
        """dbt build: staging and marts, with their tests."""
        from fupin import pipeline

        return pipeline.transform(_settings())

    @task(retries=0)
    def check(transformed: dict, run_id=None) -> dict:
        """Quality gate: a blocking failure stops here and the published warehouse stays as it was."""
        from fupin import pipeline

        return pipeline.check(_settings(), run_id=run_id)

    @task(retries=0)
    def publish(checked: dict) -> dict:
        """Swap the checked build in, atomically, as the file readers open."""
        from fupin import pipeline

        return pipeline.publish(_settings())

    publish(check(transform(load_sheets(extract()))))


fupin_daily()
