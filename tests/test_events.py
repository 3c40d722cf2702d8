from rnnforecast.events import Event, Events, step_seconds


def test_steps_are_timed_and_every_listener_hears_every_event():
    first, second = [], []
    events = Events(first.append, second.append)
    with events.step("load", rows=3):
        pass
    events.emit("epoch", "holdout", member=1, loss=0.5)
    assert first == second
    assert [(event.kind, event.name) for event in first] == [("step", "load"), ("epoch", "holdout")]
    assert first[0].fields == {"rows": 3} and first[0].seconds >= 0
    assert first[1].fields == {"member": 1, "loss": 0.5}


def test_a_failed_step_is_still_reported():
    seen = []
    events = Events(seen.append)
    try:
        with events.step("fit"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert [event.name for event in seen] == ["fit"]


def test_step_seconds_adds_up_repeated_steps_in_order():
    seen = [Event("step", "fit", 1.0), Event("epoch", "holdout", 9.0), Event("step", "save", 0.5)]
    seen.append(Event("step", "fit", 2.0))
    assert step_seconds(seen) == {"fit": 3.0, "save": 0.5}


def test_extended_events_share_the_start_and_label_every_event():
    seen, extra = [], []
    events = Events(seen.append)
    fold = events.extended(extra.append, fold=2, folds=3)
    assert fold.started == events.started
    fold.emit("epoch", "holdout", epoch=1)
    with fold.step("fit", member=1):
        pass
    assert seen == extra and [event.fields["fold"] for event in seen] == [2, 2]
    assert seen[1].fields == {"fold": 2, "folds": 3, "member": 1}
    events.emit("step", "save")
    assert len(seen) == 3 and len(extra) == 2 and seen[2].fields == {}
