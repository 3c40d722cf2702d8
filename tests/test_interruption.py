import signal

import pytest

from rnnforecast import interruption


def test_a_signal_outside_training_interrupts_at_once():
    with pytest.raises(KeyboardInterrupt):
        interruption.handle_signal(signal.SIGTERM, None)


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
