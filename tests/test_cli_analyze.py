"""``layerforge analyze PROJECT``: the table of Model > Analyze on the command line."""
from __future__ import annotations

import csv
import io

from cli_support import run
from layerforge.graph import ModelSpec
from layerforge.graph.analyze import analyze
from layerforge.training import Project, TrainingSettings, example_project_path, load_project, save_project


def test_analyze_prints_every_layer_and_the_totals(capsys):
    code, out, err = run(capsys, "analyze", str(example_project_path("digits_cnn")))
    assert code == 0, err
    analysis = analyze(load_project(example_project_path("digits_cnn"))[0].spec)
    assert out.strip() == analysis.text().strip()
    for name in ("conv1", "pool2", "fc2"):
        assert any(line.startswith(name + " ") for line in out.splitlines())
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert f"{analysis.total_params:,}" in total and f"{analysis.total_flops:,}" in total


def test_analyze_csv_and_an_example_by_name(capsys):
    code, out, err = run(capsys, "analyze", "waveforms_lstm", "--csv")
    assert code == 0 and "bundled example" in err
    rows = list(csv.reader(io.StringIO(out)))
    assert [row[0] for row in rows] == ["layer", "input1", "lstm1", "fc1", "total"]
    assert rows[2][3] == "4480"   # LSTM(1, 32): 4 gates x 32 x (1 + 32) weights + 2 x 128 biases


def test_an_invalid_model_prints_what_it_can_and_the_reason(tmp_path, capsys):
    spec = ModelSpec()
    source = spec.add_node("Input", {"shape": [3, 4]}, name="input1")
    fc = spec.add_node("Linear", {"out_features": 2}, name="fc1")
    spec.connect(source.id, fc.id)
    path = tmp_path / "bad.lfproj"
    save_project(Project("bad", spec, {"kind": "builtin", "name": "spiral", "options": {}},
                         TrainingSettings(device="cpu")), path)
    code, out, err = run(capsys, "analyze", str(path))
    assert code == 1
    assert "input1" in out and "fc1" in out
    assert "not valid" in err and "fc1" in err and "Flatten" in err


def test_a_missing_project_is_one_clear_line(tmp_path, capsys):
    code, out, err = run(capsys, "analyze", str(tmp_path / "nowhere.lfproj"))
    assert code != 0 and out == ""
    assert "nowhere.lfproj" in err and err.count("\n") == 1
