#!/usr/bin/python3
"""The jointflow command line at N ranks: bad input fails cleanly on every rank, and a sampled
file is the same as a one-rank run's (DESIGN §3 Invariant R, §7, §8).

Environment: JF_BINARY (the jointflow executable), JF_RANKS (N), JF_SOURCE_DIR.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest
from typing import List

import h5py
import numpy as np

BINARY = os.environ["JF_BINARY"]
RANKS = int(os.environ.get("JF_RANKS", "1"))
SOURCE = os.environ["JF_SOURCE_DIR"]
TIMEOUT = 120


def jointflow(args, ranks=RANKS, cwd=None):
    """Runs jointflow under mpirun; returns (exit status, stdout, stderr)."""
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", BINARY] + args
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


try:
    import torch
except ImportError:  # the tests that need python3-torch skip themselves
    torch = None


def torch_module():
    """torch.nn.Module when python3-torch is installed, else a placeholder base class."""
    return torch.nn.Module if torch is not None else object


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("jointflow: error")]


def agreed_error_line(case, args, expected_words):
    """Runs jointflow, which must fail with one error line holding every expected word, agreed by
    all ranks (no rank aborts the others); returns the line."""
    status, _, stderr = jointflow(args)
    case.assertNotEqual(status, 0, stderr)
    case.assertNotIn("MPI_ABORT", stderr)
    lines = error_lines(stderr)
    case.assertEqual(len(lines), 1, stderr)
    for word in expected_words:
        case.assertIn(word, lines[0])
    return lines[0]


class ZeroVelocity(torch_module()):
    """v(x, t) = 0 on 2-D samples, for commands that need a TorchScript model."""

    sample_shape: List[int]

    def __init__(self):
        super().__init__()
        self.sample_shape = [2]

    def forward(self, x, t):
        return x * 0.0


class NanVelocity(ZeroVelocity):
    """v(x, t) = NaN: every state is non-finite after the first step."""

    def forward(self, x, t):
        return x * float("nan")


class MismatchedVelocity(ZeroVelocity):
    """Fails inside forward: a [n, 2] state plus a [3] vector does not broadcast."""

    def forward(self, x, t):
        return x + torch.ones(3)


class BadInput(unittest.TestCase):
    """Each case ends with one clear line, a non-zero exit and no file under the output name."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.inputs = tempfile.TemporaryDirectory()
        self.output = os.path.join(self.directory.name, "out.h5")
        self.config = os.path.join(SOURCE, "configs", "gmm8d-iid.ini")

    def tearDown(self):
        self.directory.cleanup()
        self.inputs.cleanup()

    def check_fails(self, args, expected_words):
        """Fails with one error line that holds every expected word, agreed by all ranks (no rank
        aborts the others), leaving no output file."""
        line = agreed_error_line(self, args, expected_words)
        self.assertFalse(os.path.exists(self.output))
        leftovers = [name for name in os.listdir(self.directory.name)]
        self.assertEqual(leftovers, [], "files left behind: %s" % leftovers)
        return line

    def sample(self, *overrides):
        return ["sample", "--config", self.config, "--run.output", self.output,
                "--sampler.groups", "20"] + list(overrides)

    def test_list_options_are_parsed_where_they_are_read(self):
        # List options are parsed once, by the registry: a malformed item, an out-of-range item
        # and an empty required list each name the key and where the value came from.
        self.check_fails(self.sample("--flow.hidden", "64,x"),
                         ["flow.hidden", "64,x", "comma-separated", "command line"])
        self.check_fails(self.sample("--model.sample_shape", "1,0,8"),
                         ["model.sample_shape", "every item must be >= 1", "command line"])
        self.check_fails(self.sample("--residual.hidden", ""),
                         ["residual.hidden", "is empty", "command line"])

    def test_missing_config_file(self):
        self.check_fails(["sample", "--config", "/nonexistent/x.ini"],
                         ["/nonexistent/x.ini", "--config"])

    def test_unknown_key_in_file(self):
        path = os.path.join(self.inputs.name, "bad.ini")
        with open(path, "w") as ini:
            ini.write("[sampler]\nstepz = 10\n")
        line = self.check_fails(["sample", "--config", path, "--run.output", self.output],
                                ["sampler.stepz", path, "sampler.steps"])
        self.assertIn("did you mean", line)

    def test_unknown_option_on_command_line(self):
        self.check_fails(self.sample("--sampler.lamda", "1"), ["sampler.lamda", "command line"])

    def test_malformed_number(self):
        self.check_fails(self.sample("--sampler.steps", "ten"), ["sampler.steps", "ten"])

    def test_group_size_below_two(self):
        self.check_fails(self.sample("--sampler.group_size", "1"),
                         ["sampler.group_size = 1", "out of range", ">= 2", "command line"])

    def test_zero_steps(self):
        self.check_fails(self.sample("--sampler.steps", "0"), ["sampler.steps = 0", ">= 1"])

    def test_bad_choice(self):
        self.check_fails(self.sample("--sampler.objective", "ddp"), ["sampler.objective", "ddp", "dpp"])

    def test_checkpoints_with_per_sample_output(self):
        line = self.check_fails(self.sample("--output.samples", "true", "--run.checkpoint_every",
                                            "1"),
                                ["run.checkpoint_every", "output.samples", "run.parts"])
        self.assertTrue(line.endswith("with run.parts instead"), line)

    def test_unwritable_output(self):
        missing = os.path.join(self.directory.name, "no-such-dir", "out.h5")
        self.check_fails(["sample", "--config", self.config, "--run.output", missing],
                         ["run.output", "no-such-dir"])

    def train_flux(self, config, *overrides):
        return ["train-flux", "--config", os.path.join(SOURCE, "configs", "flux", config),
                "--run.output", self.output,
                "--model.path", os.path.join(self.directory.name, "field.ckpt")] + list(overrides)

    def test_exact_divergence_refuses_images(self):
        self.check_fails(self.train_flux("digits.ini", "--flux.divergence", "exact"),
                         ["flux.divergence = exact", "[1,8,8]", "hutchinson"])

    def test_kde_batch_must_divide_the_batch(self):
        self.check_fails(self.train_flux("ring.ini", "--flux.kde_batch", "100"),
                         ["flux.kde_batch = 100", "train.batch_size = 1024"])

    @unittest.skipIf(RANKS < 2, "needs more ranks than KDE batches")
    def test_kde_batches_must_cover_every_rank(self):
        self.check_fails(self.train_flux("ring.ini", "--flux.kde_batch", "1024"),
                         ["1 KDE batches", "flux.kde_batch = 1024", f"{RANKS} ranks"])

    def test_autocast_needs_float32(self):
        self.check_fails(self.train_flux("ring.ini", "--train.autocast", "bf16", "--run.dtype",
                                         "float64"),
                         ["train.autocast = bf16", "run.dtype = float32", "float64"])

    def test_out_of_range_in_file_names_the_file(self):
        path = os.path.join(self.inputs.name, "range.ini")
        with open(path, "w") as ini:
            ini.write("[sampler]\ngroup_size = 0\n")
        self.check_fails(["sample", "--config", path, "--run.output", self.output],
                         ["sampler.group_size = 0", path])

    def scripted(self, module, name):
        """Saves `module` as TorchScript among the inputs (skips without python3-torch)."""
        if torch is None:
            self.skipTest("python3-torch is not installed")
        path = os.path.join(self.inputs.name, name)
        torch.jit.script(module).save(path)
        return path

    def with_flow(self, command, flow, *overrides):
        """`command` on 4 sets of the TorchScript flow at `flow`."""
        return [command, "--config", self.config, "--run.output", self.output, "--model.kind",
                "torchscript", "--model.path", flow, "--sampler.groups", "4"] + list(overrides)

    def test_estimate_nearest_mean_without_a_mixture(self):
        flow = self.scripted(ZeroVelocity(), "flow.pt")
        self.check_fails(self.with_flow("estimate", flow, "--estimate.function", "nearest_mean"),
                         ["estimate.function = nearest_mean", "set eval.mixture"])

    def test_part_beyond_the_parts(self):
        self.check_fails(self.sample("--run.parts", "3", "--run.part", "3"),
                         ["run.part = 3", "run.parts"])

    def test_config_that_is_a_directory(self):
        self.check_fails(["sample", "--config", self.inputs.name, "--run.output", self.output],
                         ["'%s' (--config) is a directory" % self.inputs.name])

    def test_empty_box(self):
        self.check_fails(
            ["estimate", "--config", self.config, "--run.output", self.output,
             "--estimate.weights", "none", "--estimate.function", "box",
             "--estimate.box_low", "0,0,0,0,0,0,0,1", "--estimate.box_high", "1,1,1,1,1,1,1,0"],
            ["estimate.box_low[7] = 1", "estimate.box_high[7] = 0", "empty"])

    def test_warmup_not_below_the_steps(self):
        self.check_fails(self.train_flux("ring.ini", "--train.steps", "10",
                                         "--train.warmup_steps", "10"),
                         ["train.warmup_steps = 10", "10 training steps"])

    def test_more_threads_than_cores(self):
        self.check_fails(self.sample("--run.threads", "100000"),
                         ["run.threads = 100000", "cores of this node"])

    def test_set_count_beyond_two_to_the_53(self):
        self.check_fails(["sample", "--config", self.config, "--run.output", self.output,
                          "--sampler.groups", str(2 ** 62)],
                         ["sampler.groups = %d" % 2 ** 62, "2^53"])

    def test_every_set_dropped(self):
        flow = self.scripted(NanVelocity(), "nan.pt")
        self.check_fails(self.with_flow("sample", flow, "--eval.mixture", "gmm2d",
                                        "--sampler.drop_nonfinite", "true"),
                         ["all 4 sets had non-finite states", "was not written"])

    def test_torchscript_failure_keeps_its_cause(self):
        flow = self.scripted(MismatchedVelocity(), "mismatched.pt")
        self.check_fails(self.with_flow("sample", flow, "--eval.mixture", "gmm2d"),
                         [flow, "forward", "must match the size of tensor b (3)"])

    def test_evaluate_without_a_mixture(self):
        samples = os.path.join(self.inputs.name, "samples.h5")
        status, _, stderr = jointflow(
            ["estimate", "--config", self.config, "--run.output", samples,
             "--sampler.groups", "4", "--estimate.weights", "none",
             "--estimate.per_sample", "true"])
        self.assertEqual(status, 0, stderr)
        self.check_fails(
            ["evaluate", "--config", self.config, "--run.output", self.output,
             "--model.kind", "mlp", "--evaluate.samples", samples, "--evaluate.pool", samples],
            ["evaluate needs the true density", "set eval.mixture"])


class ScratchCase(unittest.TestCase):
    """A test with its own scratch directory and the gmm8d IID config."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.config = os.path.join(SOURCE, "configs", "gmm8d-iid.ini")

    def tearDown(self):
        self.directory.cleanup()

    def path(self, name):
        return os.path.join(self.directory.name, name)


class OwnInputs(ScratchCase):
    """No command writes over one of its inputs or one output over another: one line naming both
    keys, a non-zero exit agreed by every rank, each input byte for byte as it was. Files are
    compared by identity, so other spellings and hard links of a path count."""

    def existing(self, name, text="an earlier result\n"):
        with open(self.path(name), "w") as file:
            file.write(text)
        return self.path(name)

    @staticmethod
    def content(path):
        with open(path, "rb") as file:
            return file.read()

    def check_refused(self, args, kept, expected_words):
        before = {path: self.content(path) for path in kept}
        agreed_error_line(self, args, expected_words)
        for path, content in before.items():
            self.assertEqual(self.content(path), content, path)

    def test_output_is_the_config(self):
        config = self.existing("run.ini", self.content(self.config).decode())
        self.check_refused(["sample", "--config", config, "--run.output", config],
                           [config], ["run.output", "--config", "same file", "change run.output"])

    def test_output_is_the_residual_data_spelled_otherwise(self):
        data = self.existing("trajectories.h5")
        other_spelling = os.path.join(self.directory.name, ".", "..",
                                      os.path.basename(self.directory.name), "trajectories.h5")
        self.check_refused(["train-residual", "--config", self.config, "--residual.data", data,
                            "--residual.checkpoint", self.path("r.ckpt"),
                            "--run.output", other_spelling],
                           [data], ["run.output", "residual.data", "same file"])

    def test_output_is_a_hard_link_to_the_model(self):
        model = self.existing("flow.pt")
        os.link(model, self.path("link.h5"))
        self.check_refused(["sample", "--config", self.config, "--model.kind", "torchscript",
                            "--model.path", model, "--run.output", self.path("link.h5")],
                           [model], ["run.output", "model.path", "same file"])

    def test_train_flow_model_is_its_output(self):
        model = self.existing("model.ckpt")
        self.check_refused(["train-flow", "--config", self.config, "--model.kind", "mlp",
                            "--model.path", model, "--run.output", model],
                           [model], ["run.output", "model.path", "also writes"])

    def test_merge_output_is_one_of_its_parts(self):
        parts = [self.existing("part-%d.h5" % part) for part in range(2)]
        self.check_refused(["merge", "--merge.inputs", self.path("part-*.h5"),
                            "--run.output", parts[1]],
                           parts, ["run.output", "merge.inputs", "part-1.h5"])

    def test_output_is_the_residual_checkpoint(self):
        residual = self.existing("residual.ckpt")
        self.check_refused(["estimate", "--config", self.config, "--residual.checkpoint", residual,
                            "--run.output", residual],
                           [residual], ["run.output", "residual.checkpoint", "same file"])

    def test_output_is_the_coverage_reference(self):
        reference = self.existing("reference.h5")
        self.check_refused(["sample", "--config", self.config, "--eval.reference", reference,
                            "--run.output", reference],
                           [reference], ["run.output", "eval.reference", "same file"])

    def test_evaluate_output_is_its_samples(self):
        samples = self.existing("samples.h5")
        self.check_refused(["evaluate", "--config", self.config, "--eval.mixture", "gmm8d",
                            "--evaluate.samples", samples, "--evaluate.pool", samples,
                            "--run.output", samples],
                           [samples], ["run.output", "evaluate.samples"])


class Help(unittest.TestCase):
    def test_help_lists_every_option_with_default(self):
        status, stdout, _ = jointflow(["sample", "--help"], ranks=1)
        self.assertEqual(status, 0)
        for option in ["--sampler.steps", "--sampler.group_size", "--run.seed", "--model.mixture",
                       "--sampler.objective", "--sampler.sr"]:
            self.assertIn(option, stdout)
        self.assertIn("(=100)", stdout)

    def test_configuration_reference_is_up_to_date(self):
        status, stdout, _ = jointflow(["help-config"], ranks=1)
        self.assertEqual(status, 0)
        with open(os.path.join(SOURCE, "docs", "configuration.md")) as doc:
            text = doc.read()
        self.assertIn(stdout.strip(), text,
                      "docs/configuration.md is out of date: regenerate it with `jointflow help-config`")

    def test_file_format_reference_is_up_to_date(self):
        status, stdout, _ = jointflow(["help-files"], ranks=1)
        self.assertEqual(status, 0)
        self.assertIn("| `/estimate/mean` |", stdout)
        with open(os.path.join(SOURCE, "docs", "file-format.md")) as doc:
            text = doc.read()
        self.assertIn(stdout.strip(), text,
                      "docs/file-format.md is out of date: regenerate its table with "
                      "`jointflow help-files`")

    def test_version_names_the_backends(self):
        status, stdout, _ = jointflow(["--version"], ranks=1)
        self.assertEqual(status, 0)
        self.assertIn("backends:", stdout)
        self.assertIn("mpi", stdout)


class RankInvariance(unittest.TestCase):
    """The same config and seed at N ranks and at 1 rank: same samples and metrics (float64)."""

    def test_sample_file_matches_one_rank(self):
        with tempfile.TemporaryDirectory() as directory:
            files = {}
            for ranks in sorted({1, RANKS}):
                output = os.path.join(directory, "r%d.h5" % ranks)
                status, stdout, stderr = jointflow(
                    ["sample", "--config", os.path.join(SOURCE, "configs", "gmm8d-iid.ini"),
                     "--sampler.groups", "300", "--sampler.batch_groups", "128",
                     "--run.output", output, "--output.samples", "true", "--run.seed", "9"],
                    ranks=ranks)
                self.assertEqual(status, 0, stderr)
                self.assertIn("coverage_joint", stdout)
                files[ranks] = output
            with h5py.File(files[1]) as one, h5py.File(files[RANKS]) as many:
                self.assertEqual(many.attrs["world_size"], RANKS)
                for name in ["config", "version", "seed", "schema_version", "git_revision"]:
                    self.assertIn(name, many.attrs)
                strip = lambda text: [l for l in text.splitlines() if not l.startswith("output =")]
                self.assertEqual(strip(many.attrs["config"]), strip(one.attrs["config"]))
                x1, xn = one["/samples/x"][...], many["/samples/x"][...]
                self.assertEqual(x1.shape, (3000, 8))
                np.testing.assert_allclose(xn, x1, rtol=1e-12, atol=0)
                for name in ["coverage_joint", "coverage_marginal", "log_p", "rmse"]:
                    for key in [name, name + "_se"]:
                        np.testing.assert_allclose(many["/metrics/" + key][()],
                                                   one["/metrics/" + key][()], rtol=1e-12)

    def test_paths_run_from_the_noise_to_the_samples(self):
        """output.paths: every Euler state of the first sets' members, rank-invariant."""
        with tempfile.TemporaryDirectory() as directory:
            files = {}
            for ranks in sorted({1, RANKS}):
                output = os.path.join(directory, "r%d.h5" % ranks)
                status, _, stderr = jointflow(
                    ["sample", "--config", os.path.join(SOURCE, "configs", "gmm8d-iid.ini"),
                     "--sampler.objective", "dpp", "--sampler.sr", "soft", "--sampler.lambda", "1.5",
                     "--sampler.group_size", "5", "--sampler.groups", "7", "--sampler.steps", "20",
                     "--output.paths", "3", "--output.samples", "true",
                     "--output.trajectories", "true", "--run.output", output], ranks=ranks)
                self.assertEqual(status, 0, stderr)
                files[ranks] = output
            with h5py.File(files[1]) as one, h5py.File(files[RANKS]) as many:
                paths = many["/trajectories/paths"][...]
                self.assertEqual(paths.shape, (15, 21, 8))
                np.testing.assert_array_equal(paths[:, 0], many["/trajectories/x0"][:15])
                np.testing.assert_array_equal(paths[:, -1], many["/samples/x"][:15])
                self.assertGreater(np.abs(np.diff(paths, axis=1)).min(), 0)
                np.testing.assert_allclose(paths, one["/trajectories/paths"][...], rtol=1e-12, atol=1e-14)


class EvaluateSetSize(ScratchCase):
    """`evaluate` regroups the samples into the sets they were drawn in (K of the samples' own
    config), whatever this run's sampler.group_size says."""

    def run_ok(self, args):
        status, _, stderr = jointflow(args)
        self.assertEqual(status, 0, stderr)

    def test_sets_come_from_the_samples_file(self):
        self.run_ok(["sample", "--config", self.config, "--sampler.groups", "50",
                     "--output.trajectories", "true", "--run.output", self.path("traj.h5")])
        self.run_ok(["train-residual", "--config", self.config,
                     "--residual.data", self.path("traj.h5"),
                     "--residual.checkpoint", self.path("r.ckpt"), "--train.steps", "20",
                     "--run.output", self.path("train.h5")])
        self.run_ok(["estimate", "--config", self.config, "--sampler.group_size", "12",
                     "--sampler.groups", "10", "--estimate.per_sample", "true",
                     "--residual.checkpoint", self.path("r.ckpt"),
                     "--run.output", self.path("samples.h5")])
        self.run_ok(["sample", "--config", self.config, "--sampler.groups", "80",
                     "--output.samples", "true", "--run.output", self.path("pool.h5")])
        for k in (12, 10):  # 120 samples are also whole sets of 10
            self.run_ok(["evaluate", "--config", self.config, "--eval.mixture", "gmm8d",
                         "--evaluate.samples", self.path("samples.h5"),
                         "--evaluate.pool", self.path("pool.h5"),
                         "--residual.checkpoint", self.path("r.ckpt"),
                         "--sampler.group_size", str(k), "--run.output", self.path("e%d.h5" % k)])
        with h5py.File(self.path("e12.h5")) as drawn, h5py.File(self.path("e10.h5")) as other:
            self.assertEqual(other["/evaluate/sets"][()], 10)
            names = []
            drawn["/evaluate"].visit(names.append)
            for name in names:
                if isinstance(drawn["/evaluate/" + name], h5py.Dataset):
                    np.testing.assert_array_equal(other["/evaluate/" + name][()],
                                                  drawn["/evaluate/" + name][()], err_msg=name)


class Descriptions(ScratchCase):
    """Every dataset of every kind of results file, and of their rank shards, carries a
    non-empty `description` attribute (io/dataset_descriptions.cpp)."""

    def run_ok(self, *args):
        status, _, stderr = jointflow(list(args))
        self.assertEqual(status, 0, stderr)

    def undescribed(self, path):
        missing = []

        def check(name, item):
            if isinstance(item, h5py.Dataset) and not item.attrs.get("description"):
                missing.append(name)

        with h5py.File(path) as file:
            file.visititems(check)
        return missing

    def test_every_dataset_has_a_description(self):
        p, config = self.path, self.config
        self.run_ok("sample", "--config", config, "--sampler.groups", "20", "--output.samples",
                    "true", "--output.trajectories", "true", "--output.paths", "2",
                    "--run.output", p("sample.h5"))
        self.run_ok("train-residual", "--config", config, "--residual.data", p("sample.h5"),
                    "--residual.checkpoint", p("r.ckpt"), "--train.steps", "5",
                    "--run.output", p("train-residual.h5"))
        for name, groups in (("estimate", "12"), ("iid", "12")):
            self.run_ok("estimate", "--config", config, "--sampler.groups", groups,
                        "--estimate.per_sample", "true", "--residual.checkpoint", p("r.ckpt"),
                        "--run.output", p(name + ".h5"),
                        *(["--sampler.objective", "iid"] if name == "iid" else []))
        self.run_ok("sample", "--config", config, "--sampler.groups", "80", "--output.samples",
                    "true", "--run.output", p("pool.h5"))
        self.run_ok("evaluate", "--config", config, "--eval.mixture", "gmm8d",
                    "--evaluate.samples", p("estimate.h5"), "--evaluate.pool", p("pool.h5"),
                    "--evaluate.iid", p("iid.h5"), "--residual.checkpoint", p("r.ckpt"),
                    "--run.output", p("evaluate.h5"))
        for part in (0, 1):
            self.run_ok("estimate", "--config", config, "--sampler.groups", "12", "--run.parts",
                        "2", "--run.part", str(part), "--residual.checkpoint", p("r.ckpt"),
                        "--run.output", p("part%d.h5" % part))
        self.run_ok("merge", "--merge.inputs", p("part0.h5") + "," + p("part1.h5"),
                    "--run.output", p("merged.h5"))
        self.run_ok("train-flow", "--config", os.path.join(SOURCE, "jobs", "learned_gmm8d.ini"),
                    "--train.steps", "3", "--train.warmup_steps", "1", "--data.examples", "2000",
                    "--model.path", p("flow.ckpt"), "--run.output", p("train-flow.h5"))
        self.run_ok("train-flux", "--config", os.path.join(SOURCE, "configs", "flux", "gmm2d.ini"),
                    "--train.steps", "3", "--train.warmup_steps", "1", "--model.path",
                    p("field.ckpt"), "--run.output", p("train-flux.h5"))
        self.run_ok("run", "--sampler.groups", "6", "--residual.groups", "30", "--train.epochs",
                    "1", "--sampler.steps", "10", "--sampler.group_size", "10",
                    "--run.output", p("run.h5"))
        files = []
        for root, _, names in os.walk(self.directory.name):
            files += [os.path.join(root, name) for name in names if name.endswith(".h5")]
        kinds = {os.path.basename(path) for path in files}
        for kind in ("evaluate.h5", "merged.h5", "part0.h5", "train-flux.h5", "run.h5",
                     "run.training.h5", "rank-0.h5"):
            self.assertIn(kind, kinds)
        for path in files:
            self.assertEqual(self.undescribed(path), [], path)


class RunFolder(ScratchCase):
    """Without run.output, a command writes into a new folder runs/<command>-<UTC time>[-n]/ of
    the working directory, the same folder on every rank, and nothing else beside it."""

    FOLDER = re.compile(r"^(sample|run)-\d{8}-\d{6}(-\d+)?$")

    def run_here(self, args):
        status, stdout, stderr = jointflow(args, cwd=self.directory.name)
        self.assertEqual(status, 0, stderr)
        return stdout

    def run_folders(self):
        self.assertEqual(os.listdir(self.directory.name), ["runs"])
        folders = sorted(os.listdir(self.path("runs")))
        for folder in folders:
            self.assertRegex(folder, self.FOLDER)
        return folders

    def test_each_run_gets_its_own_folder(self):
        sample = ["sample", "--config", self.config, "--sampler.groups", "6"]
        self.run_here(sample)
        self.run_here(sample)
        folders = self.run_folders()
        self.assertEqual(len(folders), 2)
        for folder in folders:
            self.assertEqual(os.listdir(self.path(os.path.join("runs", folder))), ["sample.h5"])
            output = os.path.join("runs", folder, "sample.h5")
            with h5py.File(self.path(output)) as file:
                self.assertIn("output = " + output, file.attrs["config"])
                self.assertEqual(file.attrs["world_size"], RANKS)

    def test_quickstart_summary_links_the_estimates(self):
        stdout = self.run_here(["run", "--sampler.groups", "6", "--residual.groups", "30",
                                "--train.epochs", "1", "--sampler.steps", "10",
                                "--sampler.group_size", "10"])
        [folder] = self.run_folders()
        summary = os.path.join("runs", folder, "run.h5")
        self.assertIn("Results in " + summary, stdout)
        self.assertIn("analysis/quickstart.py " + summary, stdout)
        moved = self.path("moved")
        os.rename(self.path(os.path.join("runs", folder)), moved)
        with h5py.File(os.path.join(moved, "run.h5")) as file:
            for name, weights in (("iid", "none"), ("joint", "trajectory")):
                estimate = file["estimate"][name]
                self.assertIsInstance(estimate, h5py.Group)
                self.assertEqual(estimate["mean"].shape, (10,))
                self.assertEqual(estimate["stderr"].shape, (10,))
                self.assertGreater(estimate["ess"][()], 0)
                np.testing.assert_allclose(estimate["exact"][:].sum(), 1.0, rtol=1e-12)
                with h5py.File(os.path.join(moved, "run.%s.h5" % name)) as linked:
                    np.testing.assert_array_equal(estimate["mean"][:], linked["estimate/mean"][:])
                    self.assertIn("weights = " + weights, linked.attrs["config"])
            self.assertIn("jsd_joint_weighted", file["metrics"])

    def test_parts_resume_and_merge_need_an_output(self):
        sample = ["sample", "--config", self.config, "--sampler.groups", "6"]
        merge = ["merge", "--merge.inputs", self.path("a.h5") + "," + self.path("b.h5")]
        for args in (sample + ["--run.parts", "2"], sample + ["--run.resume", "true"], merge):
            line = agreed_error_line(self, args, ["needs run.output", "--run.output"])
            self.assertNotIn("runs", os.listdir(self.directory.name), line)


class StaleTemporaries(ScratchCase):
    """A run killed before its commit leaves .<name>.tmp-<pid>; the next run with that output
    names it in one warning line and leaves it alone (another node may still be writing it)."""

    def test_leftovers_are_named_not_removed(self):
        stale = self.path(".out.h5.tmp-4194999")
        with open(stale, "wb") as file:
            file.write(b"\0" * 2000000)
        status, _, stderr = jointflow(["sample", "--config", self.config, "--sampler.groups", "6",
                                       "--run.output", self.path("out.h5")])
        self.assertEqual(status, 0, stderr)
        warnings = [line for line in stderr.splitlines() if ".out.h5.tmp-4194999" in line]
        self.assertEqual(len(warnings), 1, stderr)
        self.assertIn("jointflow: warning (rank 0)", warnings[0])
        self.assertIn("2 MB", warnings[0])
        self.assertTrue(os.path.exists(stale))
        self.assertTrue(os.path.exists(self.path("out.h5")))


class PartsAndMerge(ScratchCase):
    """Job-array parts merged equal one run over the same sets (float64, 1e-12)."""

    def run_ok(self, args, ranks=RANKS):
        status, stdout, stderr = jointflow(args, ranks=ranks)
        self.assertEqual(status, 0, stderr)
        return stdout

    def sample_args(self, *more):
        return ["sample", "--config", self.config, "--sampler.groups", "70",
                "--sampler.batch_groups", "16", "--sampler.objective", "dpp", "--sampler.sr", "hard",
                "--sampler.steps", "20"] + list(more)

    def test_merged_parts_equal_one_run(self):
        self.run_ok(self.sample_args("--run.output", self.path("whole.h5")), ranks=1)
        for part in range(3):
            self.run_ok(self.sample_args("--run.parts", "3", "--run.part", str(part),
                                         "--run.output", self.path("part-%d.h5" % part)))
        self.run_ok(["merge", "--merge.inputs", self.path("part-*.h5"),
                     "--run.output", self.path("merged.h5")], ranks=1)
        with h5py.File(self.path("whole.h5")) as whole, h5py.File(self.path("merged.h5")) as merged:
            for name in whole["/metrics"]:
                np.testing.assert_allclose(merged["/metrics/" + name][()], whole["/metrics/" + name][()],
                                           rtol=1e-12, err_msg=name)

    def test_merge_refuses_missing_and_overlapping_parts(self):
        for part in (0, 2):
            self.run_ok(self.sample_args("--run.parts", "3", "--run.part", str(part),
                                         "--run.output", self.path("p%d.h5" % part)))
        status, _, stderr = jointflow(["merge", "--merge.inputs", self.path("p*.h5"),
                                       "--run.output", self.path("m.h5")], ranks=1)
        self.assertNotEqual(status, 0)
        self.assertIn("missing", error_lines(stderr)[0])
        self.run_ok(self.sample_args("--run.parts", "2", "--run.part", "0",
                                     "--run.output", self.path("q0.h5")))
        status, _, stderr = jointflow(["merge", "--merge.inputs", "%s,%s" % (self.path("q0.h5"), self.path("p0.h5")),
                                       "--run.output", self.path("m.h5")], ranks=1)
        self.assertNotEqual(status, 0)
        self.assertFalse(os.path.exists(self.path("m.h5")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
