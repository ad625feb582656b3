"""The generated reference is up to date with the specs it is generated from."""

from pathlib import Path

from optirace.docs import reference

ROOT = Path(__file__).resolve().parents[1]


def test_reference_is_current():
    current = (ROOT / "docs" / "reference.md").read_text()
    assert current == reference(), (
        "docs/reference.md is stale: run `python -m optirace.docs > docs/reference.md`"
    )


def test_reference_names_every_hyperparameter():
    from optimizers import OPTIMIZERS

    text = reference()
    for name, opt in OPTIMIZERS.items():
        assert f"### `{name}`" in text
        for h in opt.hparams:
            assert f"| `{h.name}` |" in text


def test_reference_names_every_schedule_keyword_and_which_lr_wins():
    from optimizers import SCHEDULES

    text = reference()
    for name, sched in SCHEDULES.items():
        assert f"### `{name}`" in text
        for h in sched.hparams:
            assert f"| `{h.name}` |" in text
    assert "wins over the racer's `lr`" in text
    assert "cycle_momentum" in text and "last_epoch" in text
