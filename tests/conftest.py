"""Test setup shared by every test: Qt runs offscreen, no window ever appears."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
