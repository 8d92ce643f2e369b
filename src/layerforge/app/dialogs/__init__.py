"""The app's dialogs: import data, export the trained model, predict with it (part 2 of the window)."""
