"""Parameter declarations parse what a person types into the inspector, or say what is accepted."""
import pytest

from layerforge.graph import Param, ParamError


def test_ints_accept_the_forms_people_type():
    kernel = Param("kernel_size", "ints", (3, 3), "size", minimum=1, length=2)
    assert kernel.parse("3") == (3, 3)
    assert kernel.parse(5) == (5, 5)
    assert kernel.parse("3, 5") == (3, 5)
    assert kernel.parse("(3, 5)") == (3, 5)
    assert kernel.parse([2, 4]) == (2, 4)
    shape = Param("shape", "ints", (2,), "shape", minimum=1)
    assert shape.parse("1x28x28") == (1, 28, 28)
    assert shape.parse("2") == (2,)


def test_ints_refuse_wrong_counts_and_out_of_range_values():
    kernel = Param("kernel_size", "ints", (3, 3), "size", minimum=1, length=2)
    with pytest.raises(ParamError, match=r"parameter 'kernel_size': '1,2,3' has 3 values; use 2 integers"):
        kernel.parse("1,2,3")
    with pytest.raises(ParamError, match="element 0 is out of range; use >= 1"):
        kernel.parse("0")
    with pytest.raises(ParamError, match="not valid"):
        kernel.parse("three")


def test_words_are_accepted_where_declared():
    padding = Param("padding", "ints", (0, 0), "pad", minimum=0, length=2, words=("same", "valid"))
    assert padding.parse("same") == "same"
    assert padding.parse(1) == (1, 1)
    assert "'same' / 'valid'" in padding.describe()


def test_numbers_bools_and_choices():
    assert Param("n", "int", 1, "n", minimum=1, maximum=8).parse("4") == 4
    with pytest.raises(ParamError, match="9 is out of range; use between 1 and 8"):
        Param("n", "int", 1, "n", minimum=1, maximum=8).parse(9)
    with pytest.raises(ParamError, match="'2.5' is not an integer"):
        Param("n", "int", 1, "n").parse("2.5")
    with pytest.raises(ParamError, match="not an integer"):
        Param("n", "int", 1, "n").parse(True)
    assert Param("p", "float", 0.5, "p", minimum=0, maximum=1).parse("0.25") == 0.25
    with pytest.raises(ParamError, match="not a finite number"):
        Param("p", "float", 0.5, "p").parse(float("nan"))
    assert Param("b", "bool", True, "b").parse("false") is False
    mode = Param("output", "choice", "last", "o", choices=("last", "sequence"))
    with pytest.raises(ParamError, match="'all' is not allowed; use one of 'last', 'sequence'"):
        mode.parse("all")


def test_optional_values_may_be_left_empty():
    index = Param("padding_idx", "int", None, "pad", optional=True)
    assert index.parse("") is None and index.parse(None) is None and index.parse("2") == 2
    with pytest.raises(ParamError, match="a value is required"):
        Param("n", "int", 1, "n").parse(None)
