"""What a new user meets first: the install, and the README's first commands and config table."""

import re
import tomllib

from rnnforecast.config import CsvConfig, DataConfig
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_license_is_an_spdx_expression_so_setuptools_prints_no_deprecation_banner():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    # setuptools 77 is the first to read a string `license` (PEP 639) without warning.
    [requirement] = project["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=(\d+)", requirement)
    assert int(requirement.split(">=")[1]) >= 77


def test_readme_says_how_to_call_the_installed_command_right_after_installing():
    first_commands = README.index("make test")
    next_section = README.index("\n## ")
    start = README[first_commands:next_section]
    assert "source .venv/bin/activate" in start and ".venv/bin/rnnforecast" in start
    assert start.index(".venv/bin/rnnforecast") < start.index("rnnforecast train configs/")


def test_every_data_key_has_a_row_in_the_readme_config_table():
    rows = set(re.findall(r"^\| `([a-z_.]+)`", README, flags=re.MULTILINE))
    keys = {f"data.{name}" for name in DataConfig.model_fields if name != "csv"}
    keys |= {f"data.csv.{name}" for name in CsvConfig.model_fields}
    assert keys - rows == set()
