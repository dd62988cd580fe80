"""`benchbench list` reads the zoo's index: it must equal the registry, load no torch, and cut no name."""

import json
import subprocess
import sys

import pytest

from benchbench.cli.listing import zoo_index
from benchbench.models.zoo_index import build_index, render_index


def test_index_equals_the_registry():
    # After adding or changing a model: python -m benchbench.models.zoo_index
    assert zoo_index() == json.loads(render_index(build_index()))


def test_list_imports_no_torch():
    code = "import sys; from benchbench.cli import main; main(['list']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_piped_listing_cuts_no_name(cli):
    code, out, _ = cli(["list"])
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == [m["name"] for m in zoo_index()["models"]]


def test_narrow_terminal_cuts_no_name(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = cli(["list"])
    assert code == 0
    for m in zoo_index()["models"]:
        assert any(m["name"] in line for line in out.splitlines()), m["name"]


@pytest.mark.parametrize("args", [["--json", "-"], ["--json"]])
def test_json_to_standard_output(cli, args):
    code, out, _ = cli(["list", *args])
    assert code == 0 and len(json.loads(out)["models"]) == len(zoo_index()["models"])


def test_json_to_a_file(cli, tmp_path):
    dest = tmp_path / "zoo.json"
    code, out, _ = cli(["list", "--json", str(dest)])
    assert code == 0 and out == ""
    assert json.loads(dest.read_text())["models"] == zoo_index()["models"]


def test_unknown_modality_is_one_line(cli):
    code, _, err = cli(["list", "--modality", "smell"])
    assert code == 2 and "allowed: audio" in err
