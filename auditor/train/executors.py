"""Where training jobs run: in this process, or spread over a spawn-based process pool.

A *job* is a group of models that share an architecture and a recipe and differ in their data
subset and seeds (a chunk of shadow models). A job trains batched with ``torch.func`` when the
architecture allows it and more than one model is in the group, else one model after another with
the audit's one trainer, so an executor changes where the work runs, never what is computed: each
model's weights depend only on its (init seed, train seed, data, recipe), as in sequential
training (up to floating-point summation order, which can differ with the thread count).

Executors are registered by name (``execution.executor``):

* ``local``: every job in this process, one after another, with torch's intra-op threads.
* ``process``: jobs spread over ``execution.workers`` spawned processes (``spawn``, never
  ``fork``: forking a process that has started torch's thread pools can deadlock), each with an
  equal share of the CPU cores as torch threads. Results come back as state dicts as each job
  finishes, so the caller can store them at once (and a killed run resumes from them).

* ``ray``: jobs submitted as Ray tasks (``pip install 'unlearn-audit[ray]'``), to the cluster at
  ``execution.ray_address`` or to a local Ray instance started for the audit, each task asking for
  ``execution.cpus_per_task`` CPUs and ``execution.gpus_per_task`` GPUs. Every node must have this
  package installed (the tasks import it). Results come back as each task finishes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import torch

from auditor.train.core import Recipe

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ModelJob:
    """One model to train: what determines its weights, and nothing else.

    Attributes:
        arch: Architecture name (or ``package.module:factory``), resolved in the worker.
        input_shape: Sample shape, e.g. ``(1, 8, 8)``.
        num_classes: Output classes.
        x: Training inputs of this model's subset.
        y: Training labels.
        init_seed: Seed of the initial weights (:func:`auditor.train.architectures.init_model`).
        train_seed: Seed of the shuffling and augmentation generator.
    """

    arch: str
    input_shape: tuple[int, ...]
    num_classes: int
    x: torch.Tensor
    y: torch.Tensor
    init_seed: int
    train_seed: int


def train_group(
    jobs: list[ModelJob], recipe: Recipe, device: str, threads: int | None = None
) -> list[StateDict]:
    """Train a group of models (batched when possible); returns their CPU state dicts in order.

    Module-level so that a spawned worker can unpickle it by reference.
    """
    from auditor.train.architectures import init_model, model_factory
    from auditor.train.batched import can_batch, steps_per_epoch, train_batched
    from auditor.train.core import train_model

    if threads is not None:
        torch.set_num_threads(threads)
    first = jobs[0]
    factory = model_factory(first.arch, input_shape=first.input_shape, num_classes=first.num_classes)
    inits = [init_model(factory, j.init_seed) for j in jobs]
    gens = [torch.Generator().manual_seed(j.train_seed) for j in jobs]
    same_steps = recipe.batchable and len({steps_per_epoch(len(j.y), recipe.batch_size) for j in jobs}) == 1
    if len(jobs) > 1 and same_steps and can_batch(inits[0]):
        models = train_batched(
            inits, [(j.x, j.y) for j in jobs], recipe=recipe, generators=gens, device=device
        )
    else:
        models = [
            train_model(m, j.x, j.y, recipe=recipe, generator=g, device=device)
            for m, j, g in zip(inits, jobs, gens)
        ]
    return [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models]


class Executor:
    """Runs groups of training jobs and yields ``(group index, state dicts)`` as groups finish."""

    name = "base"
    workers = 1

    def __init__(self, *, workers: int | None = None) -> None:
        self.workers = 1

    def run(
        self, groups: list[list[ModelJob]], recipe: Recipe, device: str
    ) -> Iterator[tuple[int, list[StateDict]]]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class LocalExecutor(Executor):
    """Every group in this process, in order (``workers`` is ignored: always one)."""

    name = "local"

    def run(
        self, groups: list[list[ModelJob]], recipe: Recipe, device: str
    ) -> Iterator[tuple[int, list[StateDict]]]:
        for i, group in enumerate(groups):
            yield i, train_group(group, recipe, device)

    def describe(self) -> str:
        return "local (this process)"


class ProcessExecutor(Executor):
    """Groups spread over a spawn-based process pool, each worker with cores // workers threads."""

    name = "process"

    def __init__(self, *, workers: int | None = None) -> None:
        self.workers = max(1, workers or (os.cpu_count() or 1))

    def run(
        self, groups: list[list[ModelJob]], recipe: Recipe, device: str
    ) -> Iterator[tuple[int, list[StateDict]]]:
        if not groups:
            return
        workers = min(self.workers, len(groups))
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(train_group, g, recipe, device, threads): i for i, g in enumerate(groups)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def describe(self) -> str:
        return f"process pool ({self.workers} spawned workers)"


class RayExecutor(Executor):
    """Groups submitted as Ray tasks, to a cluster (``address``) or a local instance.

    Args:
        workers: Concurrent tasks to plan groups for (default: the cluster's CPUs / cpus_per_task).
        address: ``ray.init`` address of a running cluster; None starts a local instance (and
            stops it afterwards).
        cpus_per_task: CPUs each task reserves (also its torch thread count).
        gpus_per_task: GPUs each task reserves (fractions share a GPU).
    """

    name = "ray"

    def __init__(
        self,
        *,
        workers: int | None = None,
        address: str | None = None,
        cpus_per_task: float = 1.0,
        gpus_per_task: float = 0.0,
    ) -> None:
        self.address, self.cpus, self.gpus = address, cpus_per_task, gpus_per_task
        self.workers = max(1, workers or int((os.cpu_count() or 1) // max(cpus_per_task, 1e-9)))

    def run(
        self, groups: list[list[ModelJob]], recipe: Recipe, device: str
    ) -> Iterator[tuple[int, list[StateDict]]]:
        import ray

        if not groups:
            return
        started = not ray.is_initialized()
        if started:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        try:
            # Any: ray types remote() by the function's arity and misses train_group's optional threads.
            task: Any = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus)(train_group)
            threads = max(1, int(self.cpus))
            refs = {task.remote(g, recipe, device, threads): i for i, g in enumerate(groups)}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield refs[done[0]], ray.get(done[0])
        finally:
            if started:
                ray.shutdown()

    def describe(self) -> str:
        where = f"cluster at {self.address}" if self.address else "a local Ray instance"
        return f"Ray tasks on {where} ({self.cpus:g} CPU, {self.gpus:g} GPU per task)"


EXECUTORS: dict[str, type[Executor]] = {
    "local": LocalExecutor,
    "process": ProcessExecutor,
    "ray": RayExecutor,
}


def make_executor(
    name: str,
    *,
    workers: int | None = None,
    address: str | None = None,
    cpus_per_task: float = 1.0,
    gpus_per_task: float = 0.0,
) -> Executor:
    """The executor registered as ``name`` (the config validates the name), set up from the arguments.

    Args:
        name: ``local``, ``process`` or ``ray`` (``execution.executor``).
        workers: Process-pool size, or concurrent Ray tasks to plan for (``execution.workers``);
            None: the CPU count. The local executor always uses one.
        address: ray only: address of a running Ray cluster (``execution.ray_address``); None
            starts a local instance.
        cpus_per_task: ray only: CPUs each task reserves (``execution.cpus_per_task``).
        gpus_per_task: ray only: GPUs each task reserves (``execution.gpus_per_task``).
    """
    if name == "ray":
        return RayExecutor(
            workers=workers, address=address, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task
        )
    return EXECUTORS[name](workers=workers)


def split_groups(indices: list[int], *, batchable: bool, chunk: int, workers: int) -> list[list[int]]:
    """Group job indices: chunks of at most ``chunk`` when batchable (at least one per worker), else singletons."""
    if not batchable:
        return [[i] for i in indices]
    size = max(1, min(chunk, -(-len(indices) // max(workers, 1))))
    return [indices[s : s + size] for s in range(0, len(indices), size)]
