"""Packaging: what the wheel carries, and the desktop files that make projects open by double-click.

Static and fast (one wheel build, ~5 s). The slow end-to-end proof (fresh venv, PyInstaller bundle,
the GUI started from each) is .ci/package-check.
"""
from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

import layerforge

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
APP_ID = "io.github.layerforge.Layerforge"
MIME_TYPE = "application/x-layerforge-project"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
MIME_XML = PACKAGING / f"{APP_ID}.mime.xml"
APP_ICONS = REPO / "resources" / "icons" / "app"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
posix_only = pytest.mark.skipif(os.name != "posix" or shutil.which("bash") is None, reason="needs bash")


def shipped_files(folder: str) -> set[str]:
    root = REPO / folder
    return {path.relative_to(root).as_posix() for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")}


def setuptools_version() -> tuple[int, ...]:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return tuple(int(part) for part in version("setuptools").split(".")[:2] if part.isdigit())
    except (ImportError, PackageNotFoundError):
        return ()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built, not installed editable, from a copy of the tree with bytecode caches planted in
    ui/ and resources/ (what running from a checkout leaves there)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("src", "ui", "resources"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    for folder in ("ui", "resources", "resources/examples"):
        (source / folder / "__pycache__").mkdir()
        (source / folder / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    out = tmp_path_factory.mktemp("wheelhouse")
    # Build isolation fetches a setuptools as new as pyproject.toml asks; the venv's own one, where it
    # is new enough, saves that download.
    isolation = ["--no-build-isolation"] if setuptools_version() >= (77,) else []
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation,
                             "--wheel-dir", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip wheel failed:\n{result.stderr[-3000:]}"
    (built,) = out.glob("layerforge-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


# -- the wheel -------------------------------------------------------------------------------------

def test_wheel_carries_every_shipped_ui_and_resource_file_inside_the_package(wheel):
    names = set(wheel.namelist())
    for folder in ("ui", "resources"):
        missing = {f"layerforge/{folder}/{name}" for name in shipped_files(folder)} - names
        assert not missing, f"the wheel lacks files of {folder}/: {sorted(missing)}"
    assert "layerforge/resources/examples/spiral.lfproj" in names
    assert "layerforge/resources/icons/app/layerforge.svg" in names


def test_wheel_holds_no_caches_tests_or_build_outputs(wheel):
    junk = [name for name in wheel.namelist()
            if "__pycache__" in name or name.endswith((".pyc", ".pyo")) or ".egg-info" in name
            or name.split("/")[0] in ("tests", "build", "dist", "packaging", "docs", "ui", "resources")]
    assert junk == []


def test_wheel_declares_the_command_and_only_runtime_dependencies(wheel):
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["layerforge"] == "layerforge.cli:main"
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    requires = [line.split(":", 1)[1].strip() for line in wheel.read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    unconditional = sorted(req.split(">")[0].split("=")[0].split("<")[0].strip().lower()
                           for req in requires if ";" not in req)
    # Exporting trained weights (safetensors, ONNX) and reading images (Pillow) are part of the app a
    # user installs, not extras; torch, cupy and the test tools are not.
    assert unconditional == ["numpy", "onnx", "pillow", "pyqtgraph", "pyside6-essentials", "safetensors"]
    assert not any("torch" in req for req in requires)


def test_version_agrees_across_package_pyproject_and_metainfo():
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    releases = [release.get("version") for release in ET.parse(METAINFO).getroot().iter("release")]
    assert pyproject["project"]["version"] == layerforge.__version__
    assert releases and releases[0] == layerforge.__version__, "newest <release> first, matching the package"


# -- desktop integration ---------------------------------------------------------------------------

def read_desktop_entry() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def test_desktop_entry_starts_layerforge_with_the_double_clicked_file():
    entry = read_desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Layerforge"
    assert entry["Exec"] == "layerforge %f"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert MIME_TYPE in entry["MimeType"].split(";")
    for key in ("MimeType", "Categories", "Keywords"):
        assert entry[key].endswith(";"), f"{key} is a list and must end with ';'"


def test_metainfo_describes_the_same_app_icon_launcher_and_file_type():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("icon") == APP_ID
    assert root.findtext("provides/mediatype") == MIME_TYPE
    assert root.findtext("provides/binary") == "layerforge"
    assert root.findtext("metadata_license") and root.findtext("project_license") == "MIT"
    assert root.findtext("summary") and root.find("description/p") is not None
    images = [image.text for image in root.iter("image")]
    assert images and all(text.startswith("https://") for text in images)


def test_metainfo_screenshots_exist_in_docs():
    root = ET.parse(METAINFO).getroot()
    for image in root.iter("image"):
        relative = image.text.split("/main/", 1)[1]
        assert (REPO / relative).is_file(), f"{METAINFO.name} shows {relative}, which is not in the repository"


def test_mime_type_matches_project_files_by_extension_and_by_content():
    root = ET.parse(MIME_XML).getroot()
    (mime,) = root.findall(f"{MIME_NS}mime-type")
    assert mime.get("type") == MIME_TYPE
    assert [glob.get("pattern") for glob in mime.findall(f"{MIME_NS}glob")] == ["*.lfproj"]
    (match,) = mime.iter(f"{MIME_NS}match")
    start, end = (int(part) for part in match.get("offset").split(":"))
    examples = sorted((REPO / "resources" / "examples").glob("*.lfproj"))
    assert examples
    for example in examples:
        head = example.read_bytes()[start:end + len(match.get("value"))]
        assert match.get("value").encode() in head, f"the MIME magic does not recognise {example.name}"
        assert json.loads(example.read_text(encoding="utf-8"))["format"] == match.get("value").strip('"')


@pytest.mark.parametrize("tool, path", [("desktop-file-validate", DESKTOP),
                                        ("appstreamcli", METAINFO)])
def test_freedesktop_validators_accept_the_files(tool, path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    command = [tool, str(path)] if tool != "appstreamcli" else [tool, "validate", "--no-net", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# -- icons -----------------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG file"
    return struct.unpack(">II", data[16:24])


def test_app_icon_is_a_square_svg_with_a_png_for_every_size():
    svg = ET.parse(APP_ICONS / "layerforge.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(value) for value in svg.get("viewBox").split())
    assert width == height
    for size in PNG_SIZES:
        assert png_size((APP_ICONS / f"layerforge-{size}.png").read_bytes()) == (size, size)


def test_windows_and_macos_icons_hold_pngs_of_the_sizes_they_declare():
    ico = (PACKAGING / "icons" / "layerforge.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sizes = set()
    for index in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * index:22 + 16 * index])
        declared = (width or 256, height or 256)
        assert png_size(ico[offset:offset + length]) == declared
        sizes.add(declared[0])
    assert {16, 32, 48, 256} <= sizes
    icns = (PACKAGING / "icons" / "layerforge.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    position, kinds = 8, []
    while position < len(icns):
        kind, length = icns[position:position + 4], struct.unpack(">I", icns[position + 4:position + 8])[0]
        png_size(icns[position + 8:position + length])
        kinds.append(kind)
        position += length
    assert position == len(icns) and {b"ic07", b"ic08", b"ic09", b"ic10"} <= set(kinds)


# -- build scripts ---------------------------------------------------------------------------------

def spec_excludes() -> list[str]:
    tree = ast.parse((PACKAGING / "layerforge.spec").read_text(encoding="utf-8"))
    excludes = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(target, "id", "") == "EXCLUDES" for target in node.targets))
    return ast.literal_eval(excludes)


def test_pyinstaller_spec_is_python_that_keeps_the_test_oracle_and_tests_out():
    assert {"torch", "pytest", "hypothesis", "tests"} <= set(spec_excludes())


def test_pyinstaller_spec_keeps_every_qt_module_the_app_imports():
    excluded = set(spec_excludes())
    imported = set()
    for path in (REPO / "src" / "layerforge").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "PySide6":
                imported.update(f"PySide6.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("PySide6."):
                imported.add(".".join(node.module.split(".")[:2]))
            elif isinstance(node, ast.Import):
                imported.update(".".join(alias.name.split(".")[:2]) for alias in node.names
                                if alias.name.startswith("PySide6."))
    assert {"PySide6.QtCore", "PySide6.QtWidgets"} <= imported
    assert not imported & excluded, "the bundle would lack Qt modules the app imports"


@posix_only
@pytest.mark.parametrize("script", ["build.sh", "build-wheel.sh", "install-desktop-files.sh"])
def test_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@posix_only
def test_install_desktop_files_registers_and_removes_the_app(tmp_path):
    program = tmp_path / "my apps" / "layerforge"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    prefix = tmp_path / "share"
    environment = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "user-share")}
    script = str(PACKAGING / "install-desktop-files.sh")
    result = subprocess.run([script, "--exec", str(program), "--prefix", str(prefix)],
                            capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    installed = (prefix / "applications" / DESKTOP.name).read_text(encoding="utf-8")
    assert f'Exec="{program}" %f' in installed.splitlines()
    assert (prefix / "mime" / "packages" / f"{APP_ID}.xml").read_bytes() == MIME_XML.read_bytes()
    assert (prefix / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in PNG_SIZES:
        assert (prefix / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    result = subprocess.run([script, "--prefix", str(prefix), "--uninstall"],
                            capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not list(prefix.rglob(f"{APP_ID}*"))


@posix_only
def test_install_desktop_files_says_what_to_do_without_a_program(tmp_path):
    environment = {**os.environ, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(PACKAGING / "install-desktop-files.sh"), "--prefix", str(tmp_path / "share")],
                            capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode != 0
    assert "pass --exec" in result.stderr and not (tmp_path / "share" / "applications").exists()
