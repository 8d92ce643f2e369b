"""A layer looks the same in the palette and on the canvas: each category's icon is drawn in its colour."""
import re

from layerforge.app.icons import CATEGORY_COLORS, icon_file_name, svg_bytes


def test_every_category_icon_is_drawn_in_the_categorys_own_colour():
    for category, color in CATEGORY_COLORS.items():
        svg = svg_bytes(icon_file_name(category)).decode("utf-8")
        used = {match.lower() for match in re.findall(r'(?:stroke|fill)="(#[0-9a-fA-F]{6})"', svg)}
        assert used == {color.lower()}, f"{category}: the icon uses {sorted(used)}, its nodes {color}"
