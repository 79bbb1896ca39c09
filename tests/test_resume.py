"""Kill-and-resume: a run interrupted mid-epoch and restarted with the same command ends with exactly the metrics
of a run that never stopped (data order, augmentation and dropout are functions of (seed, epoch); all states are
checkpointed)."""

import subprocess

import pytest

from train_helpers import epoch_rows, python, subprocess_env, train_argv

EPOCHS = 4


@pytest.mark.slow
def test_killed_run_resumes_to_identical_metrics(tiny_dataset, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    base = [python(), "-m", "kanjiedge", "train"]
    subprocess.run(base + train_argv("cnn", tiny_dataset, straight, EPOCHS), check=True, env=subprocess_env(),
                   capture_output=True)
    # killed after 20 optimizer steps (9 per epoch here: in the middle of epoch 3) -> exit 130, like Ctrl-C
    killed = subprocess.run(base + train_argv("cnn", tiny_dataset, resumed, EPOCHS, "--stop-after", "20"),
                            env=subprocess_env(), capture_output=True, text=True)
    assert killed.returncode == 130, killed.stderr[-2000:]
    assert len(epoch_rows(resumed)) == 2  # two finished epochs logged, no final line
    again = subprocess.run(base + train_argv("cnn", tiny_dataset, resumed, EPOCHS), env=subprocess_env(),
                           capture_output=True, text=True)
    assert again.returncode == 0 and "resuming from" in again.stderr
    assert epoch_rows(resumed) == epoch_rows(straight)


def test_resume_from_missing_file_is_a_user_error(tiny_dataset, tmp_path):
    from kanjiedge.errors import UserError
    from kanjiedge.train import cli

    with pytest.raises(UserError, match="does not exist"):
        cli(train_argv("cnn", tiny_dataset, tmp_path / "o", 1, "--resume-from", str(tmp_path / "nope.pt")))
