from layerforge.workspace import UndoHistory


def test_undo_redo_and_clean_index():
    history = UndoHistory()
    assert history.is_clean and not history.can_undo
    history.push("Add", {"v": 0}, {"v": 1})
    assert not history.is_clean and history.undo_text == "Add"
    assert history.undo() == ("Add", {"v": 0})
    assert history.is_clean and history.redo_text == "Add"
    assert history.redo() == ("Add", {"v": 1})
    history.set_clean()
    history.push("Set x", {"v": 1}, {"v": 2}, merge_key=("n1", "x"))
    history.push("Set x", {"v": 2}, {"v": 3}, merge_key=("n1", "x"))
    assert len(history) == 2           # the two parameter edits merged into one step
    assert history.undo() == ("Set x", {"v": 1})
    assert history.is_clean


def test_no_merge_across_a_save_and_a_discarded_saved_state_is_never_clean():
    history = UndoHistory()
    history.push("Set x", {"v": 0}, {"v": 1}, merge_key="x")
    history.set_clean()
    history.push("Set x", {"v": 1}, {"v": 2}, merge_key="x")
    assert len(history) == 2
    history.undo()
    history.undo()                     # before the save
    history.push("Other", {"v": 0}, {"v": 9})   # the saved state was in the redo branch
    assert not history.is_clean
    history.undo()
    assert not history.is_clean


def test_a_bound_method_can_be_disconnected_and_a_closing_view_can_let_go_of_everything():
    from layerforge.workspace.events import EventHub

    class View:
        def __init__(self):
            self.seen = []

        def show(self, event):
            self.seen.append(event)

    hub, view = EventHub(), View()
    hub.connect(view.show)
    hub.disconnect(view.show)          # a new bound-method object, equal to the connected one
    hub.emit("first")
    hub.connect(view.show)
    hub.disconnect_all()
    hub.emit("second")
    assert view.seen == []
