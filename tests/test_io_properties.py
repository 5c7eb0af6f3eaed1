"""Property tests of the ``.ang`` and ``.ctf`` readers (hypothesis): whatever is done to a file,
the outcome is the undamaged map (shuffled rows, either decimal separator) or the project's
:class:`InputError`, never another exception. A few seconds by default; ``-m slow`` runs many
more examples."""
import warnings

import numpy as np
import pytest
from ebsd_text_files import ang_text, ctf_text, random_euler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcrpy_poly import load_ebsd
from mcrpy_poly.errors import InputError

SHAPE = (4, 5)
EXAMPLES = [pytest.param(15, id="quick"), pytest.param(400, id="long", marks=pytest.mark.slow)]
FORMATS = ["ang", "ctf"]
JUNK = st.one_of(st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "", "abc", "1,2,3", "--", "0x10", "#"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=8))


def _texts(fmt, order=None, comma=False):
    euler = random_euler(SHAPE, seed=7, n_grains=3)
    if fmt == "ang":
        return ang_text(euler, step=(0.5, 0.5), order=order, comma=comma)
    return ctf_text(np.degrees(euler), step=(0.5, 0.5), order=order, comma=comma)


def _load(tmp_path, fmt, text):
    path = tmp_path / f"map.{fmt}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_ebsd(path)


def _load_or_input_error(tmp_path, fmt, text):
    try:
        return _load(tmp_path, fmt, text)
    except InputError:
        return None


def _assert_equal_maps(a, b):
    assert a.shape == b.shape and a.step == b.step and a.symmetry == b.symmetry
    np.testing.assert_array_equal(a.quaternions, b.quaternions)
    np.testing.assert_array_equal(a.indexed, b.indexed)


def _check(examples, strategy, prop):
    settings(max_examples=examples, deadline=None, derandomize=examples < 100,
             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])(given(strategy)(prop))()


@pytest.mark.parametrize("examples", EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_permuted_rows_and_either_separator_give_the_undamaged_map(tmp_path, fmt, examples):
    undamaged = _load(tmp_path, fmt, _texts(fmt))

    def prop(case):
        order, comma = case
        _assert_equal_maps(_load(tmp_path, fmt, _texts(fmt, order=order, comma=comma)), undamaged)

    _check(examples, st.tuples(st.permutations(range(int(np.prod(SHAPE)))), st.booleans()), prop)


@pytest.mark.parametrize("examples", EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_header_damage_gives_the_map_or_an_input_error(tmp_path, fmt, examples):
    text = _texts(fmt)
    undamaged = _load(tmp_path, fmt, text)
    header = [i for i, line in enumerate(text.splitlines()) if line.startswith("#") or not line[:1].isdigit()]

    def prop(case):
        line_index, action, junk = case
        lines = text.splitlines()
        index = header[line_index % len(header)]
        if action == "delete":
            del lines[index]
        elif action == "replace":
            lines[index] = junk
        else:  # damage the value after the key
            key = lines[index].split(":")[0].split("\t")[0]
            lines[index] = f"{key}{':' if fmt == 'ang' else chr(9)} {junk}"
        omap = _load_or_input_error(tmp_path, fmt, "\n".join(lines) + "\n")
        if omap is not None and omap.shape == undamaged.shape and omap.symmetry == undamaged.symmetry:
            np.testing.assert_array_equal(omap.quaternions, undamaged.quaternions)

    _check(examples, st.tuples(st.integers(0, 10_000), st.sampled_from(["delete", "replace", "value"]), JUNK), prop)


@pytest.mark.parametrize("examples", EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncation_gives_the_map_or_an_input_error(tmp_path, fmt, examples):
    text = _texts(fmt)
    undamaged = _load(tmp_path, fmt, text)

    def prop(cut):
        omap = _load_or_input_error(tmp_path, fmt, text[:cut])
        if omap is not None:
            _assert_equal_maps(omap, undamaged)

    _check(examples, st.integers(0, len(text)), prop)


@pytest.mark.parametrize("examples", EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_junk_values_raise_nothing_but_input_error(tmp_path, fmt, examples):
    text = _texts(fmt)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line[:1].isdigit())

    def prop(case):
        row, column, junk = case
        damaged = list(lines)
        index = first + row % (len(lines) - first)
        fields = damaged[index].split()
        fields[column % len(fields)] = junk
        damaged[index] = ("\t" if fmt == "ctf" else " ").join(fields)
        _load_or_input_error(tmp_path, fmt, "\n".join(damaged) + "\n")

    _check(examples, st.tuples(st.integers(0, 10_000), st.integers(0, 20), JUNK), prop)
