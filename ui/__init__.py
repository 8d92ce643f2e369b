"""Qt Designer forms and stylesheets, loaded at run time."""
