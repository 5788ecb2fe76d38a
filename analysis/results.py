"""Reading jointflow results files (HDF5, docs/file-format.md) for the analysis scripts.

Every function takes the path of one results file and opens it read-only for the call. A file
that is missing or not HDF5, and a group, dataset, attribute or configuration option that the
file lacks, raise ResultsError with a message that names the file and what is missing.

  config(path)          the resolved configuration: {"section.key": "value"} (strings)
  attribute(path, name) one root attribute (str, int or float); attributes(path): all of them
  metrics(path)         /metrics: {name: Metric(value, se)}; metric_values(path): {name: value}
  estimates(path)       /estimate: {"mean": [c], ..., "equal_weights/mean": [c], "exact": [c]}
  samples(path, name)   /samples/<name> ("x", "log_w"), read through the rank shards
  read(path, name)      any one dataset; group(path, name): every dataset under a group
"""
import os
from collections import namedtuple

import h5py
import numpy as np

# What writes a group, for the message when a file lacks it.
WRITTEN_BY = {
    "metrics": "every command writes it",
    "estimate": "written by `estimate` and `run`",
    "evaluate": "written by `evaluate`",
    "samples": "written with output.samples = true",
    "trajectories": "written with output.trajectories = true or output.paths > 0",
    "field": "written by `train-flux` on 2-D data",
    "reference": "written by `train-flux`",
    "train": "written by `train-flux`",
}


class ResultsError(Exception):
    """A results file that is missing or unreadable, or lacks a group, dataset, attribute or
    configuration option; the message names the file and what is missing."""


class Metric(namedtuple("Metric", "value se")):
    """One metric of /metrics: its value and standard error (se is None when the file stores no
    <name>_se beside it, as for n_sets and the training metrics)."""
    __slots__ = ()


class Config(dict):
    """The resolved configuration, {"section.key": "value"}; a missing option raises ResultsError
    naming the file (use .get(key, default) for an optional one)."""

    def __init__(self, values, path):
        super().__init__(values)
        self.path = path

    def __missing__(self, key):
        raise ResultsError(f"results file '{self.path}': its configuration has no option '{key}'")


def _open(path):
    """The file, open read-only; ResultsError when it is missing or not HDF5."""
    if not os.path.isfile(path):
        raise ResultsError(f"results file '{path}' does not exist"
                           + (" (it is a directory)" if os.path.isdir(path) else ""))
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ResultsError(f"cannot open results file '{path}' as HDF5: {error}") from None


def _missing(path, handle, name, kind):
    top = name.strip("/").split("/")[0]
    hint = f" ({WRITTEN_BY[top]})" if top in WRITTEN_BY and top not in handle else ""
    return ResultsError(f"results file '{path}' has no {kind} '/{name.strip('/')}'{hint}")


def _python(value):
    """An attribute or scalar dataset as str, int or float; arrays stay numpy arrays."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_sources(path, name, dataset):
    """Raises ResultsError when a virtual dataset maps rows from a shard file that is missing:
    HDF5 would silently read zeros for them. Relative shard names are resolved from the
    directory of the main file, as HDF5 does."""
    if not dataset.is_virtual:
        return
    directory = os.path.dirname(os.path.abspath(path))
    for source in {mapping.file_name for mapping in dataset.virtual_sources()}:
        if source == ".":
            continue
        full = source if os.path.isabs(source) else os.path.join(directory, source)
        if not os.path.exists(full):
            raise ResultsError(f"dataset '/{name.strip('/')}' of results file '{path}' reads rows "
                               f"from '{full}', which is missing; keep the .shards directory "
                               "beside the results file")


def _dataset(path, handle, name):
    if name not in handle:
        raise _missing(path, handle, name, "dataset")
    dataset = handle[name]
    if not isinstance(dataset, h5py.Dataset):
        raise ResultsError(f"'/{name.strip('/')}' in results file '{path}' is a group, "
                           "not a dataset")
    _check_sources(path, name, dataset)
    return _python(dataset[()])


def read(path, name):
    """The dataset NAME ("train/loss", "trajectories/paths", ...): a numpy array, or a float or
    int for a scalar dataset."""
    with _open(path) as handle:
        return _dataset(path, handle, name)


def group(path, name):
    """Every dataset under the group NAME, at any depth: {path relative to the group: value},
    e.g. group(path, "evaluate")["kde/jsd"]."""
    with _open(path) as handle:
        if name not in handle:
            raise _missing(path, handle, name, "group")
        if not isinstance(handle[name], h5py.Group):
            raise ResultsError(f"'/{name.strip('/')}' in results file '{path}' is a dataset, "
                               "not a group")
        names = []
        handle[name].visititems(
            lambda inner, item: names.append(inner) if isinstance(item, h5py.Dataset) else None)
        return {inner: _dataset(path, handle, f"{name}/{inner}") for inner in sorted(names)}


def attributes(path):
    """Every root attribute (config, command, version, world_size, seed, wall_time, ...) as
    str, int or float."""
    with _open(path) as handle:
        return {key: _python(value) for key, value in handle.attrs.items()}


def attribute(path, name):
    """The root attribute NAME ("world_size", "wall_time", "command", ...)."""
    with _open(path) as handle:
        if name not in handle.attrs:
            raise ResultsError(f"results file '{path}' has no root attribute '{name}'")
        return _python(handle.attrs[name])


def parse_config(text, path="<text>"):
    """The INI text of the `config` attribute as {"section.key": "value"}. jointflow writes one
    "[section]" line per section and one "key = value" line per option, every option, the value
    as the command line takes it (possibly empty); PATH only names the source in errors."""
    values, section = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        key, equals, value = line.partition(" = ")
        if not equals:
            key, equals, value = line.partition("=")
        if not equals or section is None:
            raise ResultsError(f"results file '{path}': line {number} of its configuration, "
                               f"'{line}', is not 'key = value' under a [section]")
        values[f"{section}.{key.strip()}"] = value.strip()
    return Config(values, path)


def config(path):
    """The resolved configuration the file was written with (root attribute `config`, every
    option): {"section.key": "value"} with the values as strings, e.g. config(p)["sampler.groups"]
    == "10000"."""
    text = attribute(path, "config")
    if not isinstance(text, str):
        raise ResultsError(f"results file '{path}': root attribute 'config' is not a string")
    return parse_config(text, path)


def metrics(path, names=None):
    """/metrics as {name: Metric(value, se)}: each dataset <name> with its sibling <name>_se as
    the standard error (None when there is none); the _se datasets are not listed on their own.
    With NAMES, those metrics only, in that order; ResultsError when the file lacks one."""
    datasets = group(path, "metrics")
    found = {name: Metric(value, datasets.get(name + "_se"))
             for name, value in datasets.items()
             if not (name.endswith("_se") and name[:-3] in datasets)}
    if names is None:
        return found
    missing = [name for name in names if name not in found]
    if missing:
        raise ResultsError(f"results file '{path}' has no /metrics/{missing[0]} (its metrics: "
                           f"{', '.join(found) or 'none'})")
    return {name: found[name] for name in names}


def metric_values(path, names=None):
    """/metrics as {name: value}, without the standard errors; NAMES as for metrics()."""
    return {name: metric.value for name, metric in metrics(path, names).items()}


def estimates(path):
    """/estimate (files of `estimate` and `run`) as {name: value}: "mean", "stderr", "sn_mean",
    "sn_stderr" (arrays over the components of estimate.function), "ess", "n_sets"; the same
    under "equal_weights/" (every weight 1); and "exact" when the evaluation mixture is known."""
    return group(path, "estimate")


def samples(path, name="x"):
    """/samples/NAME as a numpy array: "x" the final states [G·K, *sample_shape] in global member
    order, "log_w" their log-weights (estimate with per-sample output). Read through the rank
    shards; a missing shard raises ResultsError instead of reading zeros."""
    return read(path, "samples/" + name)
