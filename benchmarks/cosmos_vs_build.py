"""dbt in the DAG: astronomer-cosmos (one Airflow task per dbt model) against one ``dbt build`` task.

Usage (on a state directory whose build warehouse already holds an extract, e.g. after one daily run):

    FUPIN_STATE_DIR=/path/to/state .venv/bin/python benchmarks/cosmos_vs_build.py [--logical-date 2017-12-02]

Writes two throw-away DAGs into a temporary DAG folder and times ``airflow dags test`` of each, in its own
Airflow home (``$FUPIN_STATE_DIR/airflow-bench``): ``bench_dbt_build`` runs ``fupin.pipeline.transform`` (the
production task), ``bench_dbt_cosmos`` renders the dbt project with cosmos' ``DbtTaskGroup`` (local execution,
``TestBehavior.BUILD``: each model, seed and its tests one ``dbt build --select`` task, the cheapest
per-model rendering). Prints the wall time of each and the number of tasks.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SINGLE = textwrap.dedent(
    """
    # airflow dag: one dbt build task
    import pendulum
    from airflow.sdk import dag, task

    @dag(dag_id="bench_dbt_build", schedule=None, start_date=pendulum.datetime(2017, 1, 1), catchup=False)
    def bench():
        @task
        def transform():
            from fupin import pipeline
            from fupin.settings import get_settings

            return pipeline.transform(get_settings())

        transform()

    bench()
    """
)

COSMOS = textwrap.dedent(
    """
    # airflow dag: the dbt project rendered by cosmos, one task per node
    import pendulum
    from airflow.sdk import dag
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import LoadMode, TestBehavior

    @dag(dag_id="bench_dbt_cosmos", schedule=None, start_date=pendulum.datetime(2017, 1, 1), catchup=False)
    def bench():
        DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig("{project}"),
            profile_config=ProfileConfig(
                profile_name="fupin", target_name="build", profiles_yml_filepath="{project}/profiles.yml"
            ),
            execution_config=ExecutionConfig(dbt_executable_path="{dbt}"),
            render_config=RenderConfig(load_method=LoadMode.DBT_LS, test_behavior=TestBehavior.BUILD),
        )

    bench()
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logical-date", default="2017-12-02")
    parser.add_argument("--only", choices=("build", "cosmos"))
    args = parser.parse_args()

    from fupin.airflow_env import airflow_env
    from fupin.pipeline import DBT_PROJECT_DIR, dbt_env
    from fupin.settings import get_settings

    settings = get_settings()
    if not settings.build_path.exists():
        raise SystemExit(f"no build warehouse at {settings.build_path}: run a daily run first")
    home = settings.state_dir / "airflow-bench"
    home.mkdir(exist_ok=True)
    exe = str(Path(sys.executable).parent / "airflow")
    with tempfile.TemporaryDirectory() as dags:
        Path(dags, "bench_dbt_build.py").write_text(SINGLE)
        Path(dags, "bench_dbt_cosmos.py").write_text(
            COSMOS.format(project=DBT_PROJECT_DIR, dbt=Path(sys.executable).parent / "dbt")
        )
        env = {**airflow_env(settings), **dbt_env(settings)}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=dags,
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
            # cosmos runs `dbt ls` while the DAG file is parsed: longer than the 30 s default on 2 busy cores.
            AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="900",
        )
        subprocess.run([exe, "db", "migrate"], env=env, check=True, capture_output=True)
        for dag_id in ("bench_dbt_build", "bench_dbt_cosmos"):
            if args.only and not dag_id.endswith(args.only):
                continue
            started = time.perf_counter()
            proc = subprocess.run(
                [exe, "dags", "test", dag_id, args.logical_date], env=env, capture_output=True, text=True
            )
            seconds = time.perf_counter() - started
            log = proc.stdout + proc.stderr
            (home / f"{dag_id}.log").write_text(log)
            tasks = len(set(re.findall(r"\[DAG TEST\] end task task_id=(\S+)", log)))
            ok = proc.returncode == 0 and "state=success" in log
            print(
                f"{dag_id}: {seconds:.1f} s wall, {tasks} tasks, {'success' if ok else 'FAILED'}", flush=True
            )


if __name__ == "__main__":
    main()
