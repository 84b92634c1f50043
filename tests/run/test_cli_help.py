"""The command line teaches itself: help with examples, `channelops params`, one-line
messages that name the true source of a mistake."""

import json

import pytest

from channelops.run import kernel
from channelops.run.cli import build_parser, main
from channelops.run.cliargs import check_dataset_flag, values_source
from channelops.run.paramdocs import _cell_params, format_param_docs, read_param_docs
from channelops.run.params import ParameterError
from channelops.run.registry import STAGES, select_stages

COMMANDS = ("run", "synth", "check", "init", "params", "compare", "nbval-prepare")


def test_every_subcommand_has_a_description_and_an_example():
    parser = build_parser()
    top = parser.format_help()
    assert "``" not in top and "`channelops COMMAND --help`" in top
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in COMMANDS:
        p = sub.choices[name]
        text = p.format_help()
        assert p.description and "``" not in text, name
        assert "example" in text and f"channelops {name}" in text, name
        assert name in top, name


def test_cell_parser_reads_name_type_default_and_help():
    source = (
        'dataset: str = "../data/demo"  # dataset folder\n'
        "horizon_days: int = 28  # forecast horizon, days\n"
        "plain = 0.5  # no annotation\n"
        "models: list = [\n    'a',\n    'b',\n]  # several lines\n"
    )
    assert _cell_params(source) == [
        ("dataset", "str", '"../data/demo"', "dataset folder"),
        ("horizon_days", "int", "28", "forecast horizon, days"),
        ("plain", "float", "0.5", "no annotation"),
        ("models", "list", "[\n    'a',\n    'b',\n]", "several lines"),
    ]


def test_param_docs_match_what_the_run_validates():
    """The listing reads each cell the same way papermill does for the run's checks."""
    for stage in STAGES:
        specs = kernel.notebook_param_specs([kernel.notebooks_dir() / stage.notebook])
        docs = read_param_docs([stage])
        assert {d.name for d in docs} == set(specs) - {"dataset", "output_dir", "seed"}
        for doc in docs:
            spec = specs[doc.name]
            assert (doc.type_name, doc.default, doc.help) == (
                spec.type_name,
                spec.default,
                spec.help,
            ), (stage.key, doc.name)


def test_params_command_lists_one_stage_with_ranges_and_file_values(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("run_name: x\nhorizon_days: 14\n")
    assert main(["params", "4", "--params", str(params)]) == 0
    out = capsys.readouterr().out
    assert "04 forecasting" in out and "01 segmentation" not in out
    assert "horizon_days (int), default 28, allowed 1 .. 365 days" in out
    assert f"{params} sets 14" in out and "forecast horizon" in out
    assert "run_name (str)" in out


def test_params_of_a_stage_without_own_parameters_says_so():
    out = format_param_docs([], select_stages("00"))
    assert "00 data (00_data.ipynb)\n  (no parameters of its own)" in out


def test_params_of_an_unknown_stage_is_one_line(capsys):
    assert main(["params", "9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown stage '9'" in err and "04 (forecasting)" in err


def test_synth_unknown_scenario_is_one_line_with_the_valid_names(tmp_path, capsys):
    assert main(["synth", "--scenario", "socal", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "channelops synth: --scenario 'socal' is not known: choose one of cross_border, "
        "multi_category, social; did you mean social?"
    )
    assert not (tmp_path / "d").exists()
    assert main(["synth", "--size", "huge", "--out", str(tmp_path / "d")]) == 2
    assert "--size 'huge' is not known: choose one of demo, large, tiny" in capsys.readouterr().err


def test_dataset_typo_on_the_command_line_is_named_as_such(tmp_path, capsys, monkeypatch):
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "dataset.yaml").write_text("name: demo\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=r"^command line: --dataset data/demmo: no such "
                       r"folder; did you mean data/demo\?$"):  # fmt: skip
        check_dataset_flag("data/demmo")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="--dataset empty: the folder has no dataset.yaml"):
        check_dataset_flag("empty")
    check_dataset_flag("data/demo")  # a real dataset passes
    check_dataset_flag(None)
    params = tmp_path / "default.yaml"
    params.write_text(json.dumps({"run_name": "x", "dataset": "data/demo", "seed": 1}))
    assert main(["run", "--params", str(params), "--dataset", "data/demmo"]) == 2
    err = capsys.readouterr().err
    assert "command line: --dataset data/demmo" in err and "default.yaml" not in err


def test_values_source_names_the_file_and_the_flags():
    assert values_source("parameters/ci.yaml", [], None) == "parameters/ci.yaml"
    assert values_source("p.yaml", ["horizon_days=3", "k=2"], "d") == (
        "p.yaml and the command line (-p horizon_days, k; --dataset)"
    )
    assert values_source(None, ["k=1"], None) == "the command line (-p k)"


def test_start_here_is_not_a_stage_and_its_data_flow_cell_runs():
    """`make lab` opens notebooks/START_HERE.ipynb; the runner, nbval-prepare and the
    registry know only the stage notebooks, and the start page's table comes from them."""
    start = kernel.notebooks_dir() / "START_HERE.ipynb"
    nb = json.loads(start.read_text(encoding="utf-8"))
    assert start.name not in {s.notebook for s in select_stages(None)}
    assert "START_HERE.ipynb" in (kernel.project_root() / "Makefile").read_text()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 1 and not any("parameters" in c["metadata"].get("tags", []) for c in code)
    scope: dict = {}
    exec("".join(code[0]["source"]), scope)  # the notebook's one code cell
    flow = scope["flow"]
    assert list(flow.index) == [s.key for s in STAGES]
    assert flow.loc["00", "reads (from stage)"] == "the dataset's exports"
    assert "intake_lines (00)" in flow.loc["01", "reads (from stage)"]
