import subprocess
import sys

from tests.conftest import REPO


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )


def test_import_keras_silences_tensorflow_start_up_and_uses_its_backend():
    result = run_python(
        "from rnnforecast.backend import import_keras\n"
        "keras = import_keras()\n"
        "print(keras.backend.backend())\n"
    )
    assert result.stdout.strip() == "tensorflow"
    assert result.stderr == ""


def test_seed_everything_repeats_weights():
    result = run_python(
        "from rnnforecast.backend import import_keras, seed_everything\n"
        "keras = import_keras()\n"
        "draws = []\n"
        "for _ in range(2):\n"
        "    seed_everything(7)\n"
        "    layer = keras.layers.Dense(3)\n"
        "    layer.build((None, 2))\n"
        "    draws.append(layer.get_weights()[0].tolist())\n"
        "print(draws[0] == draws[1])\n"
    )
    assert result.stdout.strip() == "True"


def test_verbose_shows_the_traceback_of_an_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnnforecast", "validate", str(tmp_path / "x.yaml"), "--verbose"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    assert "Traceback" in result.stderr and "Error: " in result.stderr
