"Tests for ft_nb.data.text: malformed fixtures give errors naming file and line; real corpora give SOURCE.md counts."
import warnings
from collections import Counter
from pathlib import Path
import pytest
from ft_nb.core import dev_data_dir
from ft_nb.data.core import Example
from ft_nb.data.text import (DataError, read_table, read_json, read_text, read_parallel, read_split, read_dataset,
                             label_vocab)

FIX = Path(__file__).parent/'fixtures'/'text'

@pytest.mark.parametrize('name, kwargs, message', [
    ('empty_text.tsv', dict(text_col='sentence'), "empty_text.tsv:3: empty text (column 'sentence')"),
    ('missing_label.csv', {}, "missing_label.csv:3: missing label (column 'label')"),
    ('missing_column.csv', {}, "missing_column.csv: no column 'label'; the columns are ['text', 'category']"),
    ('bad_line.jsonl', {}, "bad_line.jsonl:3: not valid JSON"),
    ('latin1.csv', {}, "latin1.csv:2: not UTF-8 (byte 0xe9)"),
    ('empty.csv', {}, "empty.csv: empty file"),
    ('extra_field.tsv', dict(text_col='sentence'), "extra_field.tsv:3: 3 fields, but the header has 2"),
])
def test_bad_file_names_file_and_line(name, kwargs, message):
    with pytest.raises(DataError) as e: read_text(FIX/name, **kwargs)
    assert message in str(e.value)
    assert str(e.value).startswith(str(FIX/name))

def test_data_error_is_value_error(): assert issubclass(DataError, ValueError)

def test_skipped_rows_are_counted_and_reported():
    with pytest.warns(UserWarning, match=r"skipped 1 bad rows, kept 2; first: .*missing_label.csv:3"):
        d = read_table(FIX/'missing_label.csv', on_error='skip')
    assert [e.text for e in d] == ['good, really', 'bad']
    assert d.skipped == [f"{FIX/'missing_label.csv'}:3: missing label (column 'label')"]
    with pytest.warns(UserWarning, match='skipped 1 bad rows, kept 3'):
        d = read_json(FIX/'bad_line.jsonl', on_error='skip')
    assert [e.where.rsplit(':', 1)[1] for e in d] == ['1', '2', '4']

def test_file_errors_are_not_skippable():
    for name in ['latin1.csv', 'empty.csv', 'missing_column.csv']:
        with pytest.raises(DataError): read_text(FIX/name, on_error='skip')

def test_misaligned_line_files():
    with pytest.raises(DataError, match=r"misaligned_text.txt has 3 lines but .*misaligned_labels.txt has 2"):
        read_parallel(FIX/'misaligned_text.txt', FIX/'misaligned_labels.txt')
    assert [e.label for e in read_parallel(FIX/'misaligned_text.txt')] == [None, None, None]

def test_pairs_and_json_shapes():
    d = read_table(FIX/'pairs.tsv', 'premise', 'label', 'hypothesis')
    assert d[1] == Example('A cat sleeps.', 'contradiction', 'The dog runs.', f"{FIX/'pairs.tsv'}:3")
    assert label_vocab(d).labels == ['contradiction', 'entailment']
    assert [(e.text, e.label) for e in read_json(FIX/'data.json')] == [('great', '1'), ('awful', '0')]

def test_hf_datasets_local_files(tmp_path):
    from datasets import load_dataset
    ds = load_dataset('csv', data_files=str(FIX/'pairs.tsv'), delimiter='\t', cache_dir=str(tmp_path))
    d = read_dataset(ds, 'premise', 'label', 'hypothesis', split='train')
    assert [(e.text_pair, e.label, e.where) for e in d] == [('A person makes music.', 'entailment', 'train[0]'),
                                                           ('The dog runs.', 'contradiction', 'train[1]')]
    with pytest.raises(DataError, match=r"no column 'sentence'; the columns are \['premise', 'hypothesis', 'label'\]"):
        read_dataset(ds, 'sentence')

SST = dev_data_dir('sst2_glue')
UMSAB = dev_data_dir('umsab_xlmt_sentiment')

@pytest.mark.skipif(SST is None, reason='shared/data/sst2_glue is absent')
@pytest.mark.parametrize('name, n0, n1', [('train.tsv', 29780, 37569), ('dev.tsv', 428, 444), ('test-labeled.tsv', 917, 904)])
def test_sst2_counts(name, n0, n1):
    with warnings.catch_warnings():
        warnings.simplefilter('error') # nothing may be skipped
        d = read_table(SST/name, 'sentence')
    assert Counter(e.label for e in d) == {'0': n0, '1': n1}
    assert not any('\r' in e.text for e in d)

@pytest.mark.skipif(SST is None, reason='shared/data/sst2_glue is absent')
def test_sst2_unlabelled_test():
    d = read_table(SST/'test.tsv', 'sentence', None)
    assert len(d) == 1821 and all(e.label is None for e in d)

@pytest.mark.skipif(UMSAB is None, reason='shared/data/umsab_xlmt_sentiment is absent')
@pytest.mark.parametrize('lang', ['arabic', 'english', 'french', 'german', 'hindi', 'italian', 'portuguese', 'spanish'])
def test_umsab_counts(lang):
    for split, n in [('train', 613), ('val', 108), ('test', 290)]:
        assert Counter(e.label for e in read_split(UMSAB/lang, split)) == {'0': n, '1': n, '2': n}
