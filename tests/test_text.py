"Tests for ft_nb.data.text: malformed fixtures give errors naming file and line; real corpora give SOURCE.md counts."
import gzip, json, os, subprocess, sys, threading, warnings
from collections import Counter
from pathlib import Path
import pytest
from ft_nb.core import dev_data_dir
from ft_nb.data.core import Example, LabelVocab, text_lines
from ft_nb.data.text import (DataError, read_table, read_json, read_text, read_parallel, read_split, read_dataset,
                             label_vocab)

FIX = Path(__file__).parent/'fixtures'/'text'

@pytest.mark.parametrize('name, kwargs, message', [
    ('empty_text.tsv', dict(text_col='sentence'), "empty_text.tsv:3: empty text (column 'sentence')"),
    ('missing_label.csv', {}, "missing_label.csv:3: missing label (column 'label')"),
    ('missing_column.csv', {}, "missing_column.csv: no column 'label'; the columns are ['text', 'category']"),
    ('bad_line.jsonl', {}, "bad_line.jsonl:3: not valid JSON"),
    ('latin1.csv', {}, "latin1.csv:2: byte 0xe9 at byte offset 14 is not UTF-8"),
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


def _through_fifo(path, data:bytes)->list[str]:
    "The lines `text_lines` reads from a FIFO at `path` that a thread fills with `data` in small writes."
    os.mkfifo(path)
    def write():
        with open(path, 'wb') as w:
            for k in range(0, len(data), 777): w.write(data[k:k+777]); w.flush()
    t = threading.Thread(target=write); t.start()
    try: return [line for _, line in text_lines(path)]
    finally: t.join()

@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='no FIFOs on this platform')
def test_text_lines_reads_every_line_of_a_fifo_plain_or_gzip(tmp_path):
    lines = [f'text {i},label {i % 3}' for i in range(3000)]
    data = ('\n'.join(lines) + '\n').encode()
    assert _through_fifo(tmp_path/'plain', data) == lines
    assert _through_fifo(tmp_path/'zipped', gzip.compress(data)) == lines # the gzip magic is read from the stream, not lost

def test_text_lines_reads_every_line_of_stdin_plain_or_gzip():
    data = ''.join(f'line {i}\n' for i in range(2000)).encode()
    code = 'from ft_nb.data.core import text_lines; print(sum(1 for _ in text_lines("-")))'
    env = os.environ | {'PYTHONPATH': str(Path(__file__).parent.parent)}
    for piped in (data, gzip.compress(data)):
        assert subprocess.run([sys.executable, '-c', code], input=piped, capture_output=True, env=env).stdout.strip() == b'2000'

def test_read_text_of_a_gzip_file_and_its_errors(tmp_path):
    (tmp_path/'a.csv').write_bytes(gzip.compress(b'text,label\r\n"two\r\nlines",1\r\n'))
    assert [(e.text, e.label) for e in read_text(tmp_path/'a.csv')] == [('two\nlines', '1')]
    (tmp_path/'b.csv').write_bytes(gzip.compress(b'text,label\nok,1\n')[:12])
    with pytest.raises(DataError, match=r"b.csv:1: corrupt gzip data"): read_text(tmp_path/'b.csv')

def test_multi_label_rows(tmp_path):
    (tmp_path/'g.csv').write_text('text,genres\na sad clown,comedy|drama\nthe heist,crime\n')
    (tmp_path/'g.jsonl').write_text('\n'.join(json.dumps(r) for r in [{'text': 'a sad clown', 'genres': ['comedy', 'drama']},
                                                                     {'text': 'the heist', 'genres': ['crime']}]))
    (tmp_path/'g.json').write_text(json.dumps({'data': [{'text': 'a sad clown', 'genres': 'comedy;drama'}, {'text': 'the heist', 'genres': 'crime'}]}))
    a = read_text(tmp_path/'g.csv', label_col='genres', label_sep='|')
    b = read_text(tmp_path/'g.jsonl', label_col='genres')
    c = read_text(tmp_path/'g.json', label_col='genres', label_sep=';')
    assert [e.label for e in a] == [e.label for e in b] == [e.label for e in c] == [('comedy', 'drama'), ('crime',)]
    assert label_vocab(a) == LabelVocab.from_data(e.label for e in b) == LabelVocab(['comedy', 'crime', 'drama'])
    assert read_text(tmp_path/'g.csv', label_col='genres')[0].label == 'comedy|drama' # single-label unchanged
    (tmp_path/'bad.jsonl').write_text('{"text": "x", "genres": ["a", ""]}\n{"text": "y", "genres": {"a": 1}}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: empty or non-string label in \['a', ''\]"): read_text(tmp_path/'bad.jsonl', label_col='genres')
    with warnings.catch_warnings(record=True): d = read_text(tmp_path/'bad.jsonl', label_col='genres', on_error='skip')
    assert d.skipped[1].endswith("bad.jsonl:2: missing label (column 'genres')")
