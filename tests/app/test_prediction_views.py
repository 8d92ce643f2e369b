"""Issue #22, "A prediction view for every task": what the prediction view and the data thumbnail
show for sequences, tables and long class names, driven through the window as a person drives it."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QAction

from layerforge.app import theme
from layerforge.app.class_colors import class_color
from layerforge.app.confusion import ConfusionMatrixView
from layerforge.app.predictions import PredictionView
from layerforge.graph import get_template
from layerforge.training import PredictionSnapshot
from layerforge.workspace.model_edits import replace_all
from window_support import boxes, click, files, isolated, app_window  # noqa: F401


def example_action(window, name: str) -> QAction:
    for action in window.menuBar().findChildren(QAction):
        if action.text().replace("&", "") == name:
            return action
    raise AssertionError(f"no menu action {name!r}")


def train(qtbot, window, epochs: int, timeout: int = 60_000) -> None:
    window.training_panel.epochs_spin.setValue(epochs)
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: window.run.running, timeout=5_000)
    qtbot.waitUntil(lambda: not window.run.running, timeout=timeout)
    qtbot.waitUntil(lambda: window.predictions.last_epoch == window.workspace.run.kept_epoch, timeout=5_000)


def kept_data(window) -> dict:
    return window.workspace.run.kept_snapshot.data


def x_span(cell) -> tuple[float, float]:
    return tuple(cell.plot.viewRange()[0])


def pen_color(curve) -> str:
    return curve.opts["pen"].color().name()


def import_csv(qtbot, window, path) -> None:
    click(qtbot, window.commands.import_button)
    dialog = window.commands.import_dialog
    dialog.csv_tab.path_row.edit.setText(str(path))
    click(qtbot, dialog.import_button)
    qtbot.waitUntil(lambda: window.dataset_panel.dataset is not None
                    and window.dataset_panel.dataset.name == path.stem, timeout=5_000)


def write_house_prices(path, rows: int = 300):
    """Three features and a price around 100-200: a table (not a 1-D curve) for regression."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (rows, 3))
    price = 100.0 + 4 * x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2] ** 2 + rng.normal(0, 1, rows)
    lines = ["rooms,age,size,price"] + [f"{a:.3f},{b:.3f},{c:.3f},{p:.3f}" for (a, b, c), p in zip(x, price)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_lstm_example_shows_each_wave_over_its_steps_coloured_by_its_predicted_class(qtbot, app_window):
    window = app_window
    window.commands.projects.ask_unsaved = lambda: "discard"
    example_action(window, "waveforms_lstm").trigger()
    grid = window.predictions.sequence_grid
    # Before training: waves in their class's colour, titled with their class, not a noise strip.
    assert window.predictions.current_view is grid
    cells = grid.visible_cells()
    assert len(cells) >= 4
    names = window.workspace.dataset.class_names
    assert set(grid.titles()[:4]) == set(names)   # one of each class first
    for cell in cells:
        x, _ = cell.inputs[0].getData()
        assert np.array_equal(x, np.arange(32))
        assert pen_color(cell.inputs[0]) == class_color(names.index(cell.tooltip.removeprefix("class "))).name()

    train(qtbot, window, 2)
    assert window.predictions.current_view is grid and window.predictions.last_kind == "sequence"
    data = kept_data(window)
    cells = grid.visible_cells()
    assert len(cells) >= 4
    for index, cell in enumerate(cells):
        x, y = cell.inputs[0].getData()
        assert np.array_equal(x, np.arange(32)) and np.allclose(y, data["sequences"][index, :, 0])
        # The x axis is the sequence's 32 steps, not the 1000 samples; "View All" keeps it so.
        low, high = x_span(cell)
        assert -3 < low <= 0 and 31 <= high < 35, (low, high)
        cell.plot.getViewBox().autoRange()
        low, high = x_span(cell)
        assert low <= 0 and 31 <= high and high - low < 40, (low, high)
        guess, truth = int(data["pred"][index]), int(data["true"][index])
        assert pen_color(cell.inputs[0]) == class_color(guess).name()
        title = grid.titles()[index]
        assert title.startswith(names[guess])
        assert ("right" in title) if guess == truth else (f"is {names[truth]}" in title)


def sequence_regression_file(path, n: int = 160, steps: int = 24):
    """Denoising: a noisy wave in, the clean wave (one value per step) out."""
    rng = np.random.default_rng(1)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    clean = 3.0 * np.sin(np.linspace(0, 2 * np.pi, steps)[None, :] + phase)
    np.savez(path, x=(clean + rng.normal(0, 0.3, clean.shape))[:, :, None].astype(np.float32),
             y=clean.astype(np.float32))
    return path


def test_a_sequence_regression_shows_predicted_against_true_sequences(qtbot, app_window, tmp_path):
    window, workspace = app_window, app_window.workspace
    workspace.import_data({"kind": "arrays", "path": str(sequence_regression_file(tmp_path / "denoise.npz")),
                           "task": "regression"})
    assert workspace.dataset.kind == "sequence" and workspace.dataset.task == "regression"
    grid = window.predictions.sequence_grid
    assert window.predictions.current_view is grid
    before = grid.visible_cells()[0]
    x, y = before.truth.getData()                      # the data alone: each input with its target
    assert np.array_equal(x, np.arange(24)) and np.allclose(y, workspace.dataset.y[0])
    # An LSTM with one output per step, built through the workspace as the canvas would.
    spec = get_template("lstm_classifier").spec(seq_len=24, features=1, num_classes=24)
    workspace.edit_model("LSTM regressor", replace_all(spec.to_dict()))
    workspace.set_settings(loss="mse", target="values")
    train(qtbot, window, 3)
    data = kept_data(window)
    for index, cell in enumerate(grid.visible_cells()):
        steps, true = cell.truth.getData()
        same_steps, pred = cell.predicted.getData()
        assert np.array_equal(steps, np.arange(24)) and np.array_equal(same_steps, steps)
        assert np.allclose(true, data["true"][index]) and np.allclose(pred, data["pred"][index])
        low, high = x_span(cell)
        assert -2 < low <= 0 and 23 <= high < 26
        assert grid.titles()[index].startswith("error ")
    assert "Predicted sequences" in window.predictions.title.text()


def test_a_forecast_is_drawn_after_the_input_it_continues(qtbot):
    # A target shorter than the input (the next 4 values of a 24-step series) continues the input's
    # steps instead of lying over its first four.
    view = PredictionView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    rng = np.random.default_rng(0)
    sequences = rng.normal(size=(3, 24, 2)).astype(np.float32)
    true, pred = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    view.draw_snapshot(PredictionSnapshot(2, "sequence", {"sequences": sequences, "true": true, "pred": pred}))
    cells = view.sequence_grid.visible_cells()
    assert len(cells) == 3
    for index, cell in enumerate(cells):
        steps, values = cell.truth.getData()
        assert np.array_equal(steps, [24, 25, 26, 27]) and np.allclose(values, true[index])
        assert np.array_equal(cell.predicted.getData()[0], steps)
        assert np.allclose(cell.inputs[1].getData()[1], sequences[index, :, 1])   # the second feature too
        low, high = x_span(cell)
        assert low <= 0 and high >= 27


def test_an_imported_table_regression_shows_predicted_against_actual_and_its_first_rows(qtbot, app_window,
                                                                                       tmp_path):
    window = app_window
    import_csv(qtbot, window, write_house_prices(tmp_path / "houses.csv"))
    panel = window.dataset_panel
    # The Data thumbnail reads as a table: the first rows under the CSV's column names.
    assert panel.preview_rows.isVisible() and not panel.preview.isVisible()
    assert panel.preview_rows.header_texts() == ["target", "rooms", "age", "size"]
    first = window.workspace.dataset.x[0]
    assert [panel.preview_rows.cell_text(0, c) for c in range(1, 4)] == [f"{v:.4g}" for v in first]
    assert panel.preview_rows.cell_text(0, 0) == f"{window.workspace.dataset.y[0, 0]:.4g}"
    # Every value shows whole in the thumbnail's width (only a long column name may be elided).
    rows = panel.preview_rows
    for col in range(4):
        assert rows.fontMetrics().horizontalAdvance(rows.cell_text(0, col)) < rows.horizontalHeader().sectionSize(col)
    assert window.predictions.current_view is window.predictions.row_table

    click(qtbot, window.banner.action_button)      # Use a matching model
    train(qtbot, window, 30)
    view = window.predictions
    assert view.current_view is view.plot_widget
    data = kept_data(window)
    true, pred = data["true"][:, 0], data["pred"][:, 0]
    assert len(true) == window.workspace.run.sizes["val"]
    xs = np.concatenate([layer.data["x"] for layer in view.point_layers])
    ys = np.concatenate([layer.data["y"] for layer in view.point_layers])
    assert np.allclose(np.sort(xs), np.sort(true)) and np.allclose(np.sort(ys), np.sort(pred))
    line_x, line_y = view.identity_line.getData()
    assert np.array_equal(line_x, line_y)
    assert line_x.min() <= min(true.min(), pred.min()) and line_x.max() >= max(true.max(), pred.max())
    (x0, x1), (y0, y1) = view.plot.viewRange()
    assert x0 <= true.min() and true.max() <= x1 and y0 <= pred.min() and pred.max() <= y1
    # Fitted to the values (around 100-200), not to 0..N or to the untrained model's predictions.
    assert (x1 - x0) < 3 * (true.max() - true.min()) and x0 > 0
    assert view.plot.getAxis("bottom").labelText == "actual"


def test_ranges_follow_the_data_from_spiral_to_a_regression_and_back(qtbot, app_window, tmp_path):
    window = app_window
    view = window.predictions
    train(qtbot, window, 2)
    (x0, x1), _ = view.plot.viewRange()
    assert x1 - x0 < 10                           # the spiral lies within a few units
    import_csv(qtbot, window, write_house_prices(tmp_path / "houses.csv"))
    click(qtbot, window.banner.action_button)
    train(qtbot, window, 20)
    (x0, x1), (y0, y1) = view.plot.viewRange()
    true = kept_data(window)["true"]
    assert x0 <= true.min() and true.max() <= x1 and x0 > 50   # the prices, not the spiral's range
    index = window.dataset_panel.combo.findData("spiral")
    window.dataset_panel.combo.setCurrentIndex(index)
    qtbot.waitUntil(lambda: window.workspace.dataset.name == "spiral", timeout=5_000)
    points = window.workspace.dataset.x
    (x0, x1), (y0, y1) = view.plot.viewRange()
    assert x0 <= points[:, 0].min() and points[:, 0].max() <= x1 and x1 - x0 < 10
    click(qtbot, window.banner.action_button)
    train(qtbot, window, 2)
    (x0, x1), _ = view.plot.viewRange()
    assert x1 - x0 < 10 and view.last_kind == "boundary2d"


def test_a_table_classifier_lists_sample_rows_with_predicted_and_true_classes(qtbot, app_window):
    window = app_window
    index = window.dataset_panel.combo.findData("iris")
    window.dataset_panel.combo.setCurrentIndex(index)
    qtbot.waitUntil(lambda: window.workspace.dataset.name == "iris", timeout=5_000)
    assert window.dataset_panel.preview_rows.isVisible()
    click(qtbot, window.banner.action_button)
    train(qtbot, window, 2)
    table = window.predictions.row_table
    assert window.predictions.current_view is table
    data, names = kept_data(window), window.workspace.dataset.class_names
    assert table.header_texts() == ["predicted", "true"] + window.workspace.dataset.feature_names
    for row, (guess, truth) in enumerate(zip(data["pred"], data["true"])):
        assert table.cell_text(row, 0) == names[guess] and table.cell_text(row, 1) == names[truth]
        color = table.item(row, 0).foreground().color().name()
        assert color == theme.hex_color("label.right" if guess == truth else "label.wrong")


LONG_NAMES = ["upper moon crescent", "quarter circle", "sawtooth ridge", "falling sawtooth wave"]
IRIS_NAMES = ["setosa", "versicolor", "virginica"]


def caption_fits(caption) -> bool:
    if caption.wordWrap():   # wrapped lines: all of them fit in the height it has
        return 0 < caption.heightForWidth(caption.width()) <= caption.height()
    return all(caption.fontMetrics().horizontalAdvance(line) <= caption.width() for line in caption.text().splitlines())


def header_fits(header, index: int, text: str, across: bool) -> bool:
    room = header.sectionSize(index) if across else header.width()
    return header.fontMetrics().horizontalAdvance(text) <= room


def test_confusion_headers_and_caption_are_never_cut(qtbot):
    """Every class name shows whole, or elided with the full name as its tooltip (or, where columns
    are too narrow for any of it, numbered with a legend naming the numbers); the caption wraps."""
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    seen = set()
    cases = [(340, IRIS_NAMES), (340, LONG_NAMES), (140, LONG_NAMES)]   # as wide as it gets, and squeezed
    for width, names in cases:
        view.resize(width, 260)
        view.show()
        view.set_matrix(np.arange(len(names) ** 2).reshape(len(names), -1), names, epoch=12, kept=True)
        qtbot.waitExposed(view)
        columns, rows = view.table.horizontalHeader(), view.table.verticalHeader()
        # The headers are fitted after the layout settles (a new text resizes the sections once more):
        # wait until nothing is pending and two looks in a row see the same headers.
        seen_last = []

        def settled() -> bool:
            state = (view.header_texts("columns"), view.header_texts("rows"), view.fit_pending)
            same = bool(seen_last) and seen_last[-1] == state
            seen_last.append(state)
            return same and not view.fit_pending

        qtbot.waitUntil(settled, timeout=2_000)
        qtbot.waitUntil(lambda: caption_fits(view.caption), timeout=2_000)
        numbered = [text for text, _ in view.header_texts("columns")] == [str(i + 1) for i in range(len(names))]
        for index, name in enumerate(names):
            for orientation, header, across in (("columns", columns, True), ("rows", rows, False)):
                text, tip = view.header_texts(orientation)[index]
                assert tip == name
                assert header_fits(header, index, text, across), (width, orientation, text)
                if numbered:
                    assert text == str(index + 1) and f"{index + 1} {name}" in view.legend_text()
                else:
                    assert text == name or (text.endswith("…") and name.startswith(text[:-1])
                                            and len(text) > 3), (width, text)
        seen.add(numbered)
    assert seen == {True, False}   # both ways are exercised: names at full width, numbers squeezed


def test_confusion_cells_show_shares_of_their_row_where_counts_would_be_cut(qtbot):
    """MNIST's 1,000 images a class do not fit ten narrow columns: every cell then shows its share
    of its true class in percent (no "…"), the caption says so, and the tooltip keeps the count; a
    wider view shows counts again."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFontMetrics

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    matrix = np.full((10, 10), 2) + np.diag(np.full(10, 1_000 - 20))
    matrix[3, 5] = 18
    view.resize(220, 260)
    view.show()
    view.set_matrix(matrix, [str(i) for i in range(10)], epoch=3)
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: not view.fit_pending, timeout=2_000)
    cells = [[view.table.item(r, c) for c in range(10)] for r in range(10)]
    assert view.percent and "% of the row" in view.caption.text()
    assert cells[0][0].text() == "98" and cells[3][5].text() == "2" and "18 samples" in cells[3][5].toolTip()
    for cell in (cell for row in cells for cell in row):   # as Qt elides a cell's text to its room
        room = view.table.visualItemRect(cell).width() - 6
        assert QFontMetrics(cell.font()).elidedText(cell.text(), Qt.TextElideMode.ElideRight, room) == cell.text()
    view.resize(90, 260)   # too narrow even for "100": colours and tooltips alone, never "…"
    qtbot.waitUntil(lambda: not view.fit_pending and view.table.item(0, 0).text() == "", timeout=2_000)
    assert "darker is more" in view.caption.text() and "982 samples" in view.table.item(0, 0).toolTip()
    view.resize(220, 260)
    small = np.array([[30, 2], [1, 25]])
    view.set_matrix(small, ["a", "b"], epoch=4)
    qtbot.waitUntil(lambda: not view.fit_pending, timeout=2_000)
    assert not view.percent and view.table.item(0, 0).text() == "30" and "%" not in view.caption.text()
