#!/usr/bin/python3
"""analysis/results.py on files written with h5py in the layout of src/io/result_file.cpp and
docs/file-format.md: the config attribute as jointflow renders it, /metrics with their _se
siblings, /estimate, /samples/x as a virtual dataset over a rank shard, and the errors for a
missing file, group, dataset, attribute, option and shard.

Usage: /usr/bin/python3 tests/analysis/test_results.py   (exit status 0 when every test passes)
"""
import os
import shutil
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "analysis"))
import results  # noqa: E402

# As OptionRegistry::resolved_ini writes it: "[section]", "key = value" (an empty value keeps
# the space after '='), a blank line between sections.
CONFIG = ("[run]\nseed = 1\noutput = out/a.h5\n\n[model]\nkind = gmm\npath = \n\n"
          "[sampler]\ngroups = 10\ngroup_size = 4\nhidden = 256,256\n\n"
          "[estimate]\nfunction = x=1\n")


def string_attribute(handle, name, value):
    """A variable-length UTF-8 string attribute, as ResultFile::set_attribute writes it."""
    handle.attrs.create(name, value, dtype=h5py.string_dtype("utf-8"))


def write_file(directory):
    """A results file of `estimate` with samples in one rank shard; returns its path."""
    path = os.path.join(directory, "run.h5")
    x = np.arange(40, dtype=np.float64).reshape(20, 2)
    shard_directory = path + ".shards"
    os.makedirs(shard_directory)
    with h5py.File(os.path.join(shard_directory, "rank-0.h5"), "w") as shard:
        shard["samples/x"] = x
    layout = h5py.VirtualLayout(shape=x.shape, dtype=x.dtype)
    layout[:] = h5py.VirtualSource("run.h5.shards/rank-0.h5", "samples/x", shape=x.shape)
    with h5py.File(path, "w") as f:
        string_attribute(f, "config", CONFIG)
        string_attribute(f, "command", "estimate")
        f.attrs.create("world_size", 2, dtype="<i8")
        f.attrs.create("wall_time", 1.5, dtype="<f8")
        for name, value in [("log_p", 20.3), ("log_p_se", 0.03), ("mean_weight", 1.0),
                            ("mean_weight_se", 0.01), ("n_sets", 10.0)]:
            f.create_dataset("metrics/" + name, data=np.float64(value))
        for prefix in ("estimate/", "estimate/equal_weights/"):
            f[prefix + "mean"] = np.array([0.7, 0.3])
            f[prefix + "stderr"] = np.array([0.02, 0.02])
            f.create_dataset(prefix + "ess", data=np.float64(3.9))
        f["estimate/exact"] = np.array([0.69, 0.31])
        f.create_virtual_dataset("samples/x", layout)
        f["samples/log_w"] = np.zeros(20)
    return path


class ResultsTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="test_results-")
        self.path = write_file(self.directory)

    def tearDown(self):
        shutil.rmtree(self.directory)

    def assertFails(self, function, *pieces):
        with self.assertRaises(results.ResultsError) as caught:
            function()
        for piece in pieces:
            self.assertIn(piece, str(caught.exception))

    def test_config_is_option_to_string(self):
        config = results.config(self.path)
        self.assertEqual(config["run.seed"], "1")
        self.assertEqual(config["sampler.groups"], "10")
        self.assertEqual(config["sampler.hidden"], "256,256")
        self.assertEqual(config["model.path"], "")
        self.assertEqual(config["estimate.function"], "x=1")
        self.assertEqual(len(config), 8)
        self.assertEqual(config.get("sampler.steps", "?"), "?")
        self.assertFails(lambda: config["sampler.steps"], self.path, "sampler.steps")

    def test_attributes(self):
        self.assertEqual(results.attribute(self.path, "command"), "estimate")
        self.assertEqual(results.attribute(self.path, "world_size"), 2)
        self.assertIsInstance(results.attribute(self.path, "world_size"), int)
        self.assertEqual(results.attributes(self.path)["wall_time"], 1.5)
        self.assertFails(lambda: results.attribute(self.path, "seed"), self.path, "'seed'")

    def test_metrics_pair_each_value_with_its_standard_error(self):
        metrics = results.metrics(self.path)
        self.assertEqual(sorted(metrics), ["log_p", "mean_weight", "n_sets"])
        value, se = metrics["log_p"]
        self.assertEqual((value, se), (20.3, 0.03))
        self.assertIsNone(metrics["n_sets"].se)
        self.assertEqual(results.metric_values(self.path)["mean_weight"], 1.0)
        self.assertEqual(list(results.metrics(self.path, ["n_sets", "log_p"])), ["n_sets", "log_p"])
        self.assertEqual(results.metric_values(self.path, ["log_p"]), {"log_p": 20.3})
        self.assertFails(lambda: results.metrics(self.path, ["log_p", "rmse"]), self.path,
                         "/metrics/rmse", "log_p, mean_weight, n_sets")

    def test_estimates(self):
        estimate = results.estimates(self.path)
        np.testing.assert_array_equal(estimate["mean"], [0.7, 0.3])
        np.testing.assert_array_equal(estimate["equal_weights/stderr"], [0.02, 0.02])
        np.testing.assert_array_equal(estimate["exact"], [0.69, 0.31])
        self.assertEqual(estimate["ess"], 3.9)

    def test_samples_read_through_the_shard(self):
        x = results.samples(self.path)
        np.testing.assert_array_equal(x, np.arange(40).reshape(20, 2))
        self.assertEqual(results.samples(self.path, "log_w").shape, (20,))

    def test_missing_shard_is_an_error_not_zeros(self):
        shutil.rmtree(self.path + ".shards")
        self.assertFails(lambda: results.samples(self.path), self.path, "rank-0.h5", "missing")

    def test_missing_things_name_the_file(self):
        missing = os.path.join(self.directory, "nothing.h5")
        self.assertFails(lambda: results.config(missing), missing, "does not exist")
        not_hdf5 = os.path.join(self.directory, "text.h5")
        with open(not_hdf5, "w") as f:
            f.write("not HDF5\n")
        self.assertFails(lambda: results.metrics(not_hdf5), not_hdf5, "HDF5")
        self.assertFails(lambda: results.group(self.path, "evaluate"), self.path, "/evaluate",
                         "`evaluate`")
        self.assertFails(lambda: results.read(self.path, "trajectories/x1"), self.path,
                         "/trajectories/x1")
        self.assertFails(lambda: results.read(self.path, "estimate"), "is a group")

    def test_file_without_estimate(self):
        with h5py.File(self.path, "a") as f:
            del f["estimate"]
        self.assertFails(lambda: results.estimates(self.path), self.path, "/estimate")

    def test_malformed_config_line(self):
        with h5py.File(self.path, "a") as f:
            string_attribute(f, "config", "seed = 1\n")
        self.assertFails(lambda: results.config(self.path), self.path, "line 1")


if __name__ == "__main__":
    unittest.main()
