"""What a background job is: a name, how to compute its default parameters, and how to run it.

A registry is a tuple of `JobSpec`s. The real one is `analytics.models.jobs.registered_jobs()`;
tests hand the worker a registry of tiny fake jobs by its dotted path
("tests.models_fakes:JOBS"), which is why registries are found by path.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from analytics.errors import ShopLensError

DEFAULT_REGISTRY = "analytics.models.jobs:registered_jobs"


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it; the worker records it as failed, "cancelled"."""


@dataclass(frozen=True)
class JobContext:
    """What a running job gets besides its parameters.

    Attributes:
        connection: a read-only connection to the warehouse, opened for this job.
        warehouse: the warehouse file.
        data_version: the build the job trains on.
        is_default: the job has its model's default parameters (its model card is recorded).
        progress: call as progress(done, total, step) between steps; raises JobCancelled once the
            job is cancelled, so long work stops at its next step.
        artifact: artifact(name, params) returns another job's stored artifact of the same data
            version (a dependency); raises ShopLensError when it is not ready.
        job_id: this job's id.
    """

    connection: Any
    warehouse: Path
    data_version: str
    is_default: bool
    progress: Callable[[int, int, str], None]
    artifact: Callable[[str, dict[str, Any]], Any]
    job_id: str = ""


@dataclass(frozen=True)
class JobSpec:
    """One kind of background job.

    Attributes:
        name: machine name, letters, digits and underscores ("cart_conversion").
        title: for people ("Cart conversion model").
        page: where people see its result ("Cart drop-off").
        run: run(context, params) -> the artifact (any picklable object); raises ShopLensError with a
            one-line reason when the data cannot support it.
        default_params: default_params(connection) -> the parameters every page opens with; None for
            a job that only runs when asked for (it has no default model to train after a build).
    """

    name: str
    title: str
    page: str
    run: Callable[[JobContext, dict[str, Any]], Any]
    default_params: Callable[[Any], dict[str, Any]] | None


Registry = tuple[JobSpec, ...]


def load_registry(path: str = DEFAULT_REGISTRY) -> Registry:
    """The registry at `path` ("package.module:ATTRIBUTE"); a callable attribute is called for it.

    Raises:
        ShopLensError: the module or attribute is missing, or it is not a tuple of JobSpec.
    """
    module_name, _, attribute = path.partition(":")
    try:
        registry = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ShopLensError(f"cannot load the job registry {path!r} ({error})") from None
    if callable(registry):
        registry = registry()
    if not isinstance(registry, tuple) or not all(isinstance(spec, JobSpec) for spec in registry):
        raise ShopLensError(f"the job registry {path!r} is not a tuple of JobSpec")
    return registry


def find_job(registry: Registry, name: str) -> JobSpec:
    """The job called `name`.

    Raises:
        ShopLensError: no such job; names the registered ones.
    """
    for spec in registry:
        if spec.name == name:
            return spec
    raise ShopLensError(f"there is no model {name!r}; choose one of {', '.join(spec.name for spec in registry)}")
