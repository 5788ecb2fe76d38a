#!/usr/bin/python3
"""Faults a cluster job meets, end to end through the command line (docs/slurm.md):

- a rank killed with SIGKILL ends the whole `mpirun -n 3` job with a non-zero status within 60 s;
- SIGTERM or SIGUSR1 to any rank (or SIGUSR1 to mpirun, which forwards it) makes every rank write
  the checkpoint at the next batch or step boundary and exit with status 75 and one line saying how
  to resume; `--run.resume true` (estimate) or `--train.resume true` (train-residual, train-flow)
  then ends with the file of an uninterrupted run (DESIGN §3: equal to 1e-12 relative in
  float64);
- the partial files of a job array merge into the file of a single run; a missing part, or no
  file at all, is refused;
- a truncated checkpoint, results file or model checkpoint is refused with one clear line and is
  never used silently.

Environment: JF_BINARY (the jointflow executable), JF_SOURCE_DIR; JF_FAULT_RANKS (default 3).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_results  # noqa: E402

BINARY = os.environ["JF_BINARY"]
RANKS = int(os.environ.get("JF_FAULT_RANKS", "3"))
TIMEOUT = 300
STOPPED = 75  # EX_TEMPFAIL

CONFIG = """\
[run]
seed = 5
progress = off
threads = 1

[model]
kind = gmm
mixture = gmm8d

[sampler]
steps = 30
group_size = 4
groups = 240
batch_groups = 4
objective = dpp
sr = hard

[residual]
hidden = 16,16

[train]
optimizer = adamw
lr = 1e-3
batch_size = 64
steps = 40

[estimate]
function = nearest_mean
weights = trajectory
"""


def command(args, ranks):
    prefix = ["mpirun", "-n", str(ranks), "--oversubscribe"] if ranks > 1 else []
    return prefix + [BINARY] + args


def run(args, ranks=1):
    """Runs jointflow to the end; returns (status, stdout, stderr)."""
    done = subprocess.run(command(args, ranks), capture_output=True, text=True, timeout=TIMEOUT)
    return done.returncode, done.stdout, done.stderr


def jointflow_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("jointflow:")]


def children(pid):
    """PIDs whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def rank_pids(launcher, ranks, deadline=60):
    """{rank: pid} of the jointflow processes started by `launcher` (mpirun, or jointflow)."""
    if ranks == 1:
        return {0: launcher.pid}
    end = time.time() + deadline
    while time.time() < end:
        found = {}
        for pid in children(launcher.pid):
            try:
                with open("/proc/%d/environ" % pid, "rb") as environ:
                    variables = dict(item.split(b"=", 1) for item in environ.read().split(b"\0")
                                     if b"=" in item)
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK" in variables:
                found[int(variables[b"OMPI_COMM_WORLD_RANK"])] = pid
        if len(found) == ranks:
            return found
        time.sleep(0.1)
    raise AssertionError("the %d ranks of pid %d did not appear" % (ranks, launcher.pid))


def wait_for_file(path, process, deadline=120):
    end = time.time() + deadline
    while not os.path.exists(path):
        if process.poll() is not None:
            raise AssertionError("the run ended (status %s) before '%s' appeared"
                                 % (process.returncode, path))
        if time.time() > end:
            process.kill()
            raise AssertionError("'%s' did not appear within %d s" % (path, deadline))
        time.sleep(0.05)


def truncate_copy(source, target, fraction=0.5):
    """`target` = the first `fraction` of `source`'s bytes."""
    with open(source, "rb") as whole:
        data = whole.read()
    with open(target, "wb") as part:
        part.write(data[: int(len(data) * fraction)])


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory()
        cls.config = cls.path("run.ini")
        with open(cls.config, "w") as ini:
            ini.write(CONFIG)
        # The residual r_φ of the importance weights, trained on sets of another seed.
        status, _, stderr = run(["sample", "--config", cls.config, "--run.seed", "6",
                                 "--sampler.groups", "64", "--output.trajectories", "true",
                                 "--run.output", cls.path("trajectories.h5")])
        assert status == 0, stderr
        cls.residual = cls.path("residual.ckpt")
        status, _, stderr = run(cls.train_args(cls.path("train-reference.h5"), cls.residual))
        assert status == 0, stderr
        # The uninterrupted estimate every interrupted one must reproduce.
        cls.reference = cls.path("reference.h5")
        status, _, stderr = run(cls.estimate_args(cls.reference), ranks=RANKS)
        assert status == 0, stderr

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.directory.name, name)

    @classmethod
    def estimate_args(cls, output, *extra):
        return ["estimate", "--config", cls.config, "--residual.checkpoint", cls.residual,
                "--run.output", output] + list(extra)

    @classmethod
    def train_args(cls, output, checkpoint, *extra):
        return ["train-residual", "--config", cls.config,
                "--residual.data", cls.path("trajectories.h5"),
                "--residual.checkpoint", checkpoint, "--run.output", output] + list(extra)

    def assert_same_results(self, result, reference):
        problems = compare_results.differences(result, reference)
        self.assertEqual(problems, [], "\n".join(problems))

    def assert_refused(self, args, words, ranks=1, output=None):
        """One `jointflow: error` line holding every word, a non-zero exit, no output file."""
        status, _, stderr = run(args, ranks)
        self.assertNotEqual(status, 0, stderr)
        lines = [line for line in jointflow_lines(stderr) if line.startswith("jointflow: error")]
        self.assertEqual(len(lines), 1, stderr)
        for word in words:
            self.assertIn(word, lines[0])
        if output:
            self.assertFalse(os.path.exists(output), "%s was written" % output)
        return lines[0]

    # ---- a killed rank -------------------------------------------------------------------------
    def check_killed_rank(self, victim):
        output = self.path("killed-%d.h5" % victim)
        args = self.estimate_args(output, "--sampler.groups", "4000", "--run.checkpoint_every", "1")
        launcher = subprocess.Popen(command(args, RANKS), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        try:
            pids = rank_pids(launcher, RANKS)
            wait_for_file(output + ".checkpoint", launcher)  # every rank is in the set loop
            os.kill(pids[victim], signal.SIGKILL)
            killed = time.time()
            _, stderr = launcher.communicate(timeout=60)
            elapsed = time.time() - killed
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.communicate()
            self.fail("the job still ran 60 s after rank %d was killed" % victim)
        self.assertNotEqual(launcher.returncode, 0, stderr)
        self.assertLess(elapsed, 60)
        self.assertFalse(os.path.exists(output), "a killed job left %s" % output)
        print("rank %d of %d killed: the job ended in %.1f s with status %d"
              % (victim, RANKS, elapsed, launcher.returncode), file=sys.stderr)

    def test_killed_rank_ends_the_job(self):
        self.check_killed_rank(RANKS - 1)

    def test_killed_root_rank_ends_the_job(self):
        self.check_killed_rank(0)

    # ---- stop requests: checkpoint, 75, resume -------------------------------------------------
    def interrupt(self, args, checkpoint, signal_number, target, ranks=RANKS):
        """Starts `args`, sends `signal_number` to rank `target` (or "launcher") once the first
        checkpoint exists; returns (status, stderr)."""
        launcher = subprocess.Popen(command(args, ranks), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        try:
            pids = rank_pids(launcher, ranks)
            wait_for_file(checkpoint, launcher)
            os.kill(launcher.pid if target == "launcher" else pids[target], signal_number)
            _, stderr = launcher.communicate(timeout=TIMEOUT)
        finally:
            if launcher.poll() is None:
                launcher.kill()
                launcher.communicate()
        return launcher.returncode, stderr

    def check_stop_and_resume(self, signal_number, target, resume_ranks=RANKS):
        tag = "%s-%s-%d" % (signal.Signals(signal_number).name, target, resume_ranks)
        output = self.path("stopped-%s.h5" % tag)
        checkpoint = output + ".checkpoint"
        status, stderr = self.interrupt(
            self.estimate_args(output, "--run.checkpoint_every", "2"), checkpoint, signal_number,
            target)
        self.assertEqual(status, STOPPED, stderr)
        lines = jointflow_lines(stderr)
        self.assertEqual(len(lines), 1, stderr)
        self.assertIn("--run.resume true", lines[0])
        self.assertTrue(os.path.exists(checkpoint), "no checkpoint after the stop")
        self.assertFalse(os.path.exists(output), "a stopped run wrote %s" % output)

        status, _, stderr = run(self.estimate_args(output, "--run.resume", "true",
                                                   "--run.checkpoint_every", "2"), resume_ranks)
        self.assertEqual(status, 0, stderr)
        self.assertFalse(os.path.exists(checkpoint), "the finished run left its checkpoint")
        self.assert_same_results(output, self.reference)

    def test_sigterm_to_a_rank_checkpoints_and_resumes(self):
        self.check_stop_and_resume(signal.SIGTERM, RANKS - 1)

    def test_sigusr1_to_the_root_rank_checkpoints_and_resumes(self):
        self.check_stop_and_resume(signal.SIGUSR1, 0)

    def test_sigusr1_to_mpirun_checkpoints_and_resumes(self):
        if RANKS == 1:
            self.skipTest("one rank runs without mpirun")
        self.check_stop_and_resume(signal.SIGUSR1, "launcher")

    def test_resume_on_another_number_of_ranks(self):
        # A requeued job may get another allocation: the checkpoint holds only set statistics.
        self.check_stop_and_resume(signal.SIGTERM, 0, resume_ranks=1 if RANKS > 1 else 2)

    def test_training_stops_and_resumes_bit_for_bit(self):
        reference = self.path("train-uninterrupted.h5")
        status, _, stderr = run(self.train_args(reference, self.path("uninterrupted.ckpt"),
                                                "--train.steps", "400"), RANKS)
        self.assertEqual(status, 0, stderr)
        output = self.path("train-stopped.h5")
        checkpoint = self.path("stopped.ckpt")
        args = self.train_args(output, checkpoint, "--train.steps", "400",
                               "--train.checkpoint_every", "20")
        status, stderr = self.interrupt(args, checkpoint, signal.SIGTERM, RANKS - 1)
        self.assertEqual(status, STOPPED, stderr)
        lines = jointflow_lines(stderr)
        self.assertEqual(len(lines), 1, stderr)
        self.assertIn("--train.resume true", lines[0])
        self.assertFalse(os.path.exists(output), "a stopped run wrote %s" % output)
        status, _, stderr = run(args + ["--train.resume", "true"], RANKS)
        self.assertEqual(status, 0, stderr)
        self.assert_same_results(output, reference)

    def test_flow_training_stops_and_resumes(self):
        def args(name, *extra):
            return ["train-flow", "--config", self.config, "--model.kind", "mlp",
                    "--model.sample_shape", "8", "--flow.hidden", "32,32", "--data.kind",
                    "mixture", "--data.mixture", "gmm8d", "--data.examples", "4096",
                    "--train.steps", "300", "--model.path", self.path(name + ".ckpt"),
                    "--run.output", self.path(name + ".h5")] + list(extra)
        status, _, stderr = run(args("flow-uninterrupted"), RANKS)
        self.assertEqual(status, 0, stderr)
        stopped = args("flow-stopped", "--train.checkpoint_every", "20")
        status, stderr = self.interrupt(stopped, self.path("flow-stopped.ckpt"), signal.SIGUSR1,
                                        0)
        self.assertEqual(status, STOPPED, stderr)
        self.assertIn("--train.resume true", "\n".join(jointflow_lines(stderr)))
        status, _, stderr = run(stopped + ["--train.resume", "true"], RANKS)
        self.assertEqual(status, 0, stderr)
        self.assert_same_results(self.path("flow-stopped.h5"), self.path("flow-uninterrupted.h5"))

    # ---- job-array parts -----------------------------------------------------------------------
    def parts(self, count=3):
        paths = []
        for part in range(count):
            path = self.path("part-%d-of-%d.h5" % (part, count))
            if not os.path.exists(path):
                status, _, stderr = run(self.estimate_args(path, "--run.parts", str(count),
                                                           "--run.part", str(part)))
                self.assertEqual(status, 0, stderr)
            paths.append(path)
        return paths

    def test_merged_parts_equal_a_single_run(self):
        self.parts()
        merged = self.path("merged.h5")
        status, _, stderr = run(["merge", "--merge.inputs", self.path("part-*-of-3.h5"),
                                 "--run.output", merged])
        self.assertEqual(status, 0, stderr)
        self.assert_same_results(merged, self.reference)

    def test_missing_part_is_refused(self):
        paths = self.parts()
        merged = self.path("merged-missing.h5")
        self.assert_refused(["merge", "--merge.inputs", ",".join([paths[0], paths[2]]),
                             "--run.output", merged], ["missing"], output=merged)

    def test_merge_without_inputs_is_refused(self):
        merged = self.path("merged-nothing.h5")
        self.assert_refused(["merge", "--merge.inputs", ",", "--run.output", merged],
                            ["merge.inputs", "names no file"], output=merged)

    # ---- truncated files -----------------------------------------------------------------------
    def test_truncated_partial_file_is_refused(self):
        paths = self.parts()
        broken = self.path("part-broken.h5")
        truncate_copy(paths[1], broken)
        merged = self.path("merged-truncated.h5")
        self.assert_refused(["merge", "--merge.inputs", ",".join([paths[0], broken, paths[2]]),
                             "--run.output", merged], [broken], output=merged)

    def test_truncated_set_checkpoint_is_refused(self):
        output = self.path("truncated-checkpoint.h5")
        checkpoint = output + ".checkpoint"
        status, stderr = self.interrupt(self.estimate_args(output, "--run.checkpoint_every", "1"),
                                        checkpoint, signal.SIGTERM, 0)
        self.assertEqual(status, STOPPED, stderr)
        intact = self.path("intact.checkpoint")
        shutil.copyfile(checkpoint, intact)
        for fraction in (0.5, 0.0):
            truncate_copy(intact, checkpoint, fraction)
            self.assert_refused(self.estimate_args(output, "--run.resume", "true"), [checkpoint],
                                ranks=RANKS, output=output)

    def test_truncated_training_checkpoint_is_refused(self):
        checkpoint = self.path("truncated-train.ckpt")
        truncate_copy(self.residual, checkpoint)
        output = self.path("train-truncated.h5")
        self.assert_refused(self.train_args(output, checkpoint, "--train.resume", "true"),
                            [checkpoint], output=output)

    def test_truncated_residual_for_estimate_is_refused(self):
        checkpoint = self.path("truncated-residual.ckpt")
        truncate_copy(self.residual, checkpoint)
        output = self.path("estimate-truncated-residual.h5")
        self.assert_refused(["estimate", "--config", self.config, "--residual.checkpoint",
                             checkpoint, "--run.output", output], [checkpoint], ranks=RANKS,
                            output=output)

    def test_truncated_training_data_is_refused(self):
        data = self.path("truncated-trajectories.h5")
        truncate_copy(self.path("trajectories.h5"), data)
        output = self.path("train-truncated-data.h5")
        self.assert_refused(["train-residual", "--config", self.config, "--residual.data", data,
                             "--residual.checkpoint", self.path("unused.ckpt"),
                             "--run.output", output], [data], output=output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
