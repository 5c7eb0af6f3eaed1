"""``.ang`` and ``.ctf`` rows placed by their coordinates: shuffled rows, headers that disagree
with the data, hexagonal grids, decimal commas, NaN rows (issue 12, defects 1-4 and 7)."""
import warnings

import numpy as np
import pytest
from ebsd_text_files import ang_text, ctf_text, random_euler, reference_quaternions

from mcrpy_poly import load_ebsd
from mcrpy_poly.errors import MalformedFileError, UnsupportedSymmetryError

SHAPE = (6, 9)


@pytest.fixture(scope="module")
def euler():
    return np.round(random_euler(SHAPE, seed=4), 5)  # as written: 5 decimals


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _quiet_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file loads without a word
        return load_ebsd(path)


def _assert_same_orientations(quaternions, reference):
    np.testing.assert_allclose(np.abs(np.sum(quaternions * reference, axis=-1)), 1.0, atol=1e-12)


@pytest.mark.parametrize("fmt", ["ang", "ctf"])
def test_shuffled_rows_are_placed_by_their_coordinates(tmp_path, euler, fmt):
    order = np.random.default_rng(1).permutation(np.prod(SHAPE))
    if fmt == "ang":
        text, reference = ang_text(euler, step=(0.5, 0.25), order=order), reference_quaternions(euler)
    else:
        degrees = np.round(np.degrees(euler), 4)
        text, reference = ctf_text(degrees, step=(0.5, 0.25), order=order), reference_quaternions(degrees, True)
    omap = _quiet_load(_write(tmp_path, f"shuffled.{fmt}", text))
    assert omap.shape == SHAPE and omap.step == (0.5, 0.25)
    _assert_same_orientations(omap.quaternions, reference)


def test_shuffled_rows_agree_with_orix_on_the_ordered_file(tmp_path, euler):
    """orix reads the ordered file by its own route; the shuffled one must give the same map."""
    from orix.io import load

    ordered = _write(tmp_path, "ordered.ang", ang_text(euler))
    xmap = load(str(ordered))
    order = np.random.default_rng(2).permutation(np.prod(SHAPE))
    omap = _quiet_load(_write(tmp_path, "shuffled.ang", ang_text(euler, order=order)))
    _assert_same_orientations(omap.quaternions, xmap.rotations.data.reshape(SHAPE + (4,)))


def test_header_of_another_grid_warns_once_and_uses_the_coordinates(tmp_path, euler):
    """An exported subsample keeps the original header (140 x 160 at 0.1 um); rows form 6 x 9 at 0.4 um."""
    from orix.io import load

    path = _write(tmp_path, "subsample.ang", ang_text(euler, step=(0.4, 0.4), header=(140, 160, 0.1, 0.1)))
    with pytest.warns(UserWarning) as record:
        omap = load_ebsd(path)
    messages = [str(w.message) for w in record if "header describes" in str(w.message)]
    assert len(messages) == 1 and "140 x 160" in messages[0] and "6 x 9" in messages[0], messages
    assert omap.shape == SHAPE and omap.step == (0.4, 0.4)
    xmap = load(str(path))  # orix reads such files from the coordinates too
    assert (xmap.dy, xmap.dx) == pytest.approx((0.4, 0.4))
    _assert_same_orientations(omap.quaternions, xmap.rotations.data.reshape(SHAPE + (4,)))


def test_header_with_a_word_for_a_number_is_ignored_with_a_warning(tmp_path, euler):
    path = _write(tmp_path, "word.ang", ang_text(euler).replace(f"# NROWS: {SHAPE[0]}", "# NROWS: six"))
    with pytest.warns(UserWarning, match="NROWS: six"):
        omap = load_ebsd(path)
    _assert_same_orientations(omap.quaternions, reference_quaternions(euler))


def test_rows_in_file_order_when_only_the_header_describes_a_grid(tmp_path, euler):
    lines = ang_text(euler).splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first + 3].split()
    fields[3] = "0.00000"  # a damaged x: two rows claim the same pixel
    lines[first + 3] = " ".join(fields)
    with pytest.warns(UserWarning, match="do not form a complete grid.*file order on the header's 6 x 9 grid"):
        omap = load_ebsd(_write(tmp_path, "dup.ang", "\n".join(lines) + "\n"))
    _assert_same_orientations(omap.quaternions, reference_quaternions(euler))


def test_neither_grid_complete_is_refused(tmp_path, euler):
    lines = ang_text(euler).splitlines()
    del lines[-20]  # a hole in the middle: the coordinates miss one pixel, the header counts 54
    with pytest.raises(MalformedFileError, match=r"hole.ang: truncated or inconsistent data: the header describes "
                                                 r"54 pixels, the file holds 53"):
        load_ebsd(_write(tmp_path, "hole.ang", "\n".join(lines) + "\n"))


def test_truncated_at_a_row_boundary_is_refused(tmp_path, euler):
    text = "\n".join(ang_text(euler).splitlines()[:-2 * SHAPE[1]]) + "\n"
    with pytest.raises(MalformedFileError, match=r"cut.ang: truncated data: the header describes 54 .*only 4 x 9"):
        load_ebsd(_write(tmp_path, "cut.ang", text))


def test_hexagonal_grid_is_refused(tmp_path, euler):
    with pytest.raises(MalformedFileError, match=r"hex.ang: hexagonal grid \(GRID: HexGrid\)"):
        load_ebsd(_write(tmp_path, "hex.ang", ang_text(euler, grid="HexGrid")))


@pytest.mark.parametrize("fmt", ["ang", "ctf"])
def test_decimal_commas_read_like_dots(tmp_path, euler, fmt):
    degrees = np.round(np.degrees(euler), 4)
    write = (lambda **kw: ang_text(euler, step=(0.5, 0.5), **kw)) if fmt == "ang" else (
        lambda **kw: ctf_text(degrees, step=(0.5, 0.5), **kw))
    comma_text = write(comma=True)
    assert "0,5000" in comma_text
    dots = _quiet_load(_write(tmp_path, f"dots.{fmt}", write()))
    commas = _quiet_load(_write(tmp_path, f"commas.{fmt}", comma_text))
    assert commas.step == dots.step == (0.5, 0.5) and commas.shape == SHAPE
    np.testing.assert_array_equal(commas.quaternions, dots.quaternions)
    np.testing.assert_array_equal(commas.indexed, dots.indexed)
    _assert_same_orientations(dots.quaternions, reference_quaternions(euler) if fmt == "ang" else
                              reference_quaternions(degrees, True))


def test_nan_rows_are_named_with_the_file(tmp_path, euler):
    lines = ang_text(euler).splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    for offset in (2, 7):
        fields = lines[first + offset].split()
        fields[1] = "NaN"
        lines[first + offset] = " ".join(fields)
    with pytest.raises(MalformedFileError, match=rf"nan.ang: NaN or infinite Euler angle values on lines "
                                                 rf"{first + 3}, {first + 8}"):
        load_ebsd(_write(tmp_path, "nan.ang", "\n".join(lines) + "\n"))


def test_unknown_symmetry_lists_real_names(tmp_path, euler):
    with pytest.raises(UnsupportedSymmetryError, match="sym.ang: unsupported crystal symmetry '99'") as err:
        load_ebsd(_write(tmp_path, "sym.ang", ang_text(euler, symmetry="99")))
    assert ", ," not in str(err.value) and "groups , " not in str(err.value) and "m-3m" in str(err.value)
    with pytest.raises(UnsupportedSymmetryError, match="laue.ctf: unknown Laue group 12"):
        load_ebsd(_write(tmp_path, "laue.ctf", ctf_text(np.degrees(euler), laue=12)))


def test_ragged_row_names_its_line(tmp_path, euler):
    lines = ang_text(euler).splitlines()
    lines[-5] = lines[-5].rsplit(" ", 3)[0]
    with pytest.raises(MalformedFileError, match=rf"ragged.ang: rows of another length .* line {len(lines) - 4}"):
        load_ebsd(_write(tmp_path, "ragged.ang", "\n".join(lines) + "\n"))
