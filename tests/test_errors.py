from rnnforecast.errors import (
    CLOSED_PIPE_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    BusyError,
    ConfigError,
    DataError,
    OutputError,
    RnnForecastError,
    RunError,
)


def test_each_kind_of_error_has_its_documented_exit_code():
    kinds = (ConfigError, DataError, RunError, OutputError, BusyError)
    codes = {kind: kind.exit_code for kind in kinds}
    assert codes == {ConfigError: 3, DataError: 4, RunError: 5, OutputError: 6, BusyError: 7}
    assert all(issubclass(kind, RnnForecastError) for kind in codes)
    assert (INTERRUPTED_EXIT_CODE, CLOSED_PIPE_EXIT_CODE) == (130, 141)
