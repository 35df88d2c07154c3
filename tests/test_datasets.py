"""Reading CSV files: line numbers of the file, target columns, encodings, messages."""

import numpy as np
import pytest

from glassnet.datasets import load_csv


def csv_file(tmp_path, text, encoding="utf-8", name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# a header (line 1), a blank line (2), a record whose quoted value spans lines 3-4, another
# blank line (5): the next record is on line 6 of the file
BEFORE_LINE_6 = 'a,b,y\n\n"1\n",2,0\n\n'


def test_a_bad_feature_is_reported_on_its_line_of_the_file(tmp_path):
    path = csv_file(tmp_path, BEFORE_LINE_6 + "3,x,1\n")
    with pytest.raises(ValueError, match=r"data.csv, column 'b', line 6: 'x' is not a finite"):
        load_csv(path, "y")


def test_a_missing_value_is_reported_on_its_line_of_the_file(tmp_path):
    path = csv_file(tmp_path, BEFORE_LINE_6 + "4,5,1\n\n\n3,,1\n")
    with pytest.raises(ValueError, match=r"column 'b', line 9: missing value ''"):
        load_csv(path, "y")


def test_a_ragged_row_is_reported_on_its_line_of_the_file(tmp_path):
    path = csv_file(tmp_path, BEFORE_LINE_6 + "3,1\n")
    with pytest.raises(ValueError, match=r"line 6: 2 values, but the header has 3 columns"):
        load_csv(path, "y")


def test_windows_line_endings_count_the_same(tmp_path):
    path = csv_file(tmp_path, BEFORE_LINE_6.replace("\n", "\r\n") + "3,x,1\r\n")
    with pytest.raises(ValueError, match=r"line 6: 'x' is not a finite number"):
        load_csv(path, "y")


def test_blank_lines_and_quoted_newlines_still_read(tmp_path):
    dataset = load_csv(csv_file(tmp_path, BEFORE_LINE_6 + "3,4,1\n"), "y")
    np.testing.assert_array_equal(dataset.x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(dataset.y, [0.0, 1.0])


NUMBERS = "a,y\n1,10.5\n2,11.25\n3,12\n"


@pytest.mark.parametrize("bad", ["12..5", "inf", "-inf", "1e400", "twelve"])
def test_one_bad_value_among_numbers_is_reported(tmp_path, bad):
    path = csv_file(tmp_path, NUMBERS + f"4,{bad}\n5,13\n")
    with pytest.raises(
        ValueError,
        match=rf"column 'y', line 5: '{bad}' is not a finite number, but 4 of the column's 5 "
        "values are numbers",
    ):
        load_csv(path, "y")


def test_a_mostly_text_target_is_labels(tmp_path):
    path = csv_file(tmp_path, "a,y\n1,cat\n2,dog\n3,cat\n4,3\n")
    assert load_csv(path, "y").y.tolist() == ["cat", "dog", "cat", "3"]


def test_labels_keep_a_mixed_target_as_text(tmp_path):
    path = csv_file(tmp_path, NUMBERS + "4,other\n")
    assert load_csv(path, "y", labels=True).y.tolist() == ["10.5", "11.25", "12", "other"]


def test_a_target_of_numbers_is_numbers(tmp_path):
    for labels in (False, True):
        y = load_csv(csv_file(tmp_path, NUMBERS), "y", labels=labels).y
        assert y.dtype == float and y.tolist() == [10.5, 11.25, 12.0]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_byte_order_marks_are_understood(tmp_path, encoding):
    text = "größe,y\n1,a\n2,b\n"
    if encoding in ("utf-16-le", "utf-16-be"):
        text = "\ufeff" + text  # the mark, written in that byte order
    dataset = load_csv(csv_file(tmp_path, text, encoding), "y")
    assert dataset.feature_names == ["größe"] and dataset.y.tolist() == ["a", "b"]


def test_other_encodings_are_refused_naming_the_line(tmp_path):
    path = csv_file(tmp_path, "a,y\n1,caf\xe9\n", "latin-1")
    with pytest.raises(ValueError, match=r"is not UTF-8 text \(line 2 holds the byte 0xe9\)"):
        load_csv(path, "y")


def test_nul_characters_are_refused_naming_the_line(tmp_path):
    path = csv_file(tmp_path, "a,y\n1,2\n3\x00,4\n")
    with pytest.raises(ValueError, match=r"line 3: a NUL character"):
        load_csv(path, "y")


def test_header_names_must_be_given_and_distinct(tmp_path):
    with pytest.raises(ValueError, match=r"line 2: column 1 of the header has no name"):
        load_csv(csv_file(tmp_path, "\n,a,y\n0,1,2\n"), "y")
    with pytest.raises(ValueError, match=r"line 1: the column name 'a' appears twice"):
        load_csv(csv_file(tmp_path, "a,a,y\n0,1,2\n"), "y")


def test_another_separator_gets_a_hint(tmp_path):
    with pytest.raises(ValueError, match=r"no column 'y'.*looks separated by ';'"):
        load_csv(csv_file(tmp_path, "a;b;y\n1;2;3\n"), "y")


def test_long_values_are_cut_short_in_messages(tmp_path):
    with pytest.raises(ValueError, match=r"'xxxxx+'\.\.\. is not a finite number") as error:
        load_csv(csv_file(tmp_path, "a,y\n" + "x" * 5000 + ",1\n"), "y")
    assert len(str(error.value)) < 300
