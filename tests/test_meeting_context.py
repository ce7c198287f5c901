"""The meeting model's second stage: acts re-scored with the first-stage scores around them."""

from __future__ import annotations

import numpy as np

from summarizer.meeting_context import ContextStage, context_features, fit_context
from summarizer.meeting_model import MODEL_PATH, MeetingModel, Unit


def _meeting(rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """First-stage scores where one act in ten scores high, and the truth: the act right
    after a high one (an assignment's acceptance), which its own score does not show."""
    first = rng.uniform(0.01, 0.2, size=(n, 2))
    cues = rng.choice(n - 1, size=n // 10, replace=False)
    first[cues, 0] = rng.uniform(0.8, 0.95, size=len(cues))
    truth = np.zeros((n, 2))
    truth[cues + 1, 0] = 1
    truth[:, 1] = first[:, 1] > 0.15  # the second label: its own score says it
    return first, truth


def test_features_see_the_neighbours_scores() -> None:
    first = np.full((7, 1), 0.05)
    first[3, 0] = 0.9
    features = context_features(first)
    # columns: own logit, then the acts 3, 2, 1 after and 1, 2, 3 before, ...
    assert features.shape[0] == 7
    own, after, before = 0, 3, 4
    assert features[3, own] > 2 and features[4, own] < -2
    assert features[4, before] > 2  # act 4 sees the high score one act before it
    assert features[2, after] > 2  # act 2 sees it one act after
    assert features[0, before] < -2  # nothing before the first act
    assert np.all(np.isfinite(features))


def test_stage_learns_what_the_acts_around_say() -> None:
    rng = np.random.default_rng(7)
    train = [_meeting(rng) for _ in range(40)]
    stage = fit_context(
        np.concatenate([context_features(f) for f, _ in train]),
        np.concatenate([t for _, t in train]),
        np.asarray([5.0, 2.0]),
    )
    first, truth = _meeting(rng)
    final = stage.apply(first)
    positives = truth[:, 0] > 0
    # The first stage ranks the acceptances low; the second ranks them all on top.
    assert first[positives, 0].max() < first[~positives, 0].max()
    assert final[positives, 0].min() > final[~positives, 0].max()
    assert np.corrcoef(final[:, 1], first[:, 1])[0, 1] > 0.5


def test_an_unusual_meeting_does_not_saturate_every_act() -> None:
    # Inputs far outside what the stage was trained on (a tiny spread in training) are
    # clipped, so one odd input cannot push every act to 0 or 1.
    stage = ContextStage(weights=np.full((19, 1), 0.01), mean=np.zeros(18), scale=np.full(18, 1e-3))
    final = stage.apply(np.asarray([[0.5], [0.9]]))
    assert final.shape == (2, 1)
    assert np.all((final > 0.01) & (final < 0.99))


def test_the_shipped_model_has_the_second_stage() -> None:
    model = MeetingModel.load(MODEL_PATH)
    assert model.context is not None
    units = [Unit("Um so we looked at the numbers yesterday.", "A")] * 5 + [
        Unit("Okay, so you'll be working on the user manual for next time.", "B")
    ]
    probs = model.predict(units)
    first = model.first_stage(units)
    assert not np.allclose(probs["action"], first[:, 0])  # the stage is applied
    assert probs["action"].argmax() == 5
