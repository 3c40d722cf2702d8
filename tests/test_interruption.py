import signal

import pytest

from rnnforecast import interruption


@pytest.fixture(autouse=True)
def fresh_command():
    interruption.reset()
    yield
    interruption.reset()


def test_a_signal_outside_training_interrupts_at_once():
    with pytest.raises(KeyboardInterrupt):
        interruption.handle_signal(signal.SIGTERM, None)
    assert interruption.stopping()


def test_a_signal_while_deferred_waits_for_the_end_of_the_block():
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), interruption.deferred():
        interruption.handle_signal(signal.SIGTERM, None)
        assert interruption.stop_requested()
        reached_the_end = True
    assert reached_the_end
    assert not interruption.stop_requested()


def test_a_quiet_block_leaves_no_request_behind():
    with interruption.deferred():
        pass
    assert not interruption.stop_requested()
    assert not interruption.stopping()


def test_signals_after_the_first_are_ignored_so_clean_up_runs_to_its_end():
    with pytest.raises(KeyboardInterrupt):
        interruption.handle_signal(signal.SIGTERM, None)
    cleaned = False
    try:
        pass
    finally:
        interruption.handle_signal(signal.SIGTERM, None)  # a second SIGTERM during clean-up
        interruption.handle_signal(signal.SIGHUP, None)
        cleaned = True
    assert cleaned
    interruption.reset()
    with pytest.raises(KeyboardInterrupt):  # the next command listens again
        interruption.handle_signal(signal.SIGINT, None)
