"""Property-based fuzzing of the readers (issue 16): whatever the bytes or the broken structure of a file, a reader returns a
result or raises `DataError`, never any other exception. Bounded: about 200 examples per reader, no deadline, no example database."""
import atexit, gzip, json, shutil, tempfile, warnings
from pathlib import Path
from hypothesis import HealthCheck, given, settings, strategies as st
from ft_nb.data.core import DataError, text_lines
from ft_nb.data.conll import read_conll
from ft_nb.data.text import read_parallel, read_text

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
TMP = Path(tempfile.mkdtemp(prefix='fuzz-readers-'))
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

def write(name:str, data:bytes)->Path:
    "`data` in the file `name` of the fuzzing folder, overwritten by each example."
    (p := TMP/name).write_bytes(data)
    return p

def result_or_data_error(read, *args, **kwargs):
    "What `read` returns, or `None` after a `DataError`; any other exception fails the test (and hypothesis shrinks it)."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore') # on_error='skip' warns about skipped rows: expected, not a failure
        try: return read(*args, **kwargs)
        except DataError as e:
            assert str(e).strip(), 'a DataError says what is wrong'
            return None

# Bytes: anything at all, and byte soup made of the pieces that matter to the readers (separators, line endings, a BOM, NUL,
# latin-1, quotes, JSON punctuation, tag prefixes), optionally gzip-compressed and cut short.
PIECES = [b'EU', b'B-ORG', b'I-ORG', b'E-PER', b'S-LOC', b'B-', b'I-', b'O', b'0', b'x:', b'en:w', b'-DOCSTART-', b'# newdoc', b'#',
          b'\t', b' ', b'  ', b'\n', b'\r\n', b'\r', b'\xef\xbb\xbf', b'\0', b'\xe9', b'\xff\xfe', b'"', b'""', b',', b'|', b'{', b'}',
          b'[', b']', b':', b'"text"', b'"label"', b'"data"', b'null', b'1', b'9' * 30, b'\x1f\x8b', '\u2028'.encode(), b'\\']
soup = st.lists(st.sampled_from(PIECES), max_size=60).map(b''.join)
raw = st.one_of(st.binary(max_size=600), soup)

@st.composite
def maybe_gzip(draw, data=raw):
    "Bytes as they are, or gzip-compressed, or gzip-compressed and then truncated or with one byte flipped."
    b, how = draw(data), draw(st.sampled_from(['plain', 'gzip', 'cut', 'flip']))
    if how == 'plain': return b
    z = gzip.compress(b)
    i = draw(st.integers(0, len(z) - 1))
    return z[:i] if how == 'cut' else z if how == 'gzip' else z[:i] + bytes([z[i] ^ draw(st.integers(1, 255))]) + z[i + 1:]

@FUZZ
@given(maybe_gzip())
def test_text_lines_any_bytes(data):
    lines = result_or_data_error(lambda p: list(text_lines(p)), write('lines.txt', data))
    if lines is not None: assert all(isinstance(n, int) and isinstance(t, str) and '\n' not in t for n, t in lines)

# CoNLL: lines of 1-4 columns drawn from words and tags (valid and not), blank lines, document starts and comments, with every option.
words = st.sampled_from(['EU', 'rejects', 'en:Peter', 'x', '-DOCSTART-', '#', '"', "'", 'é', '\u2028', '\ufeffw', ' '])
tags = st.sampled_from(['O', 'B-ORG', 'I-ORG', 'E-ORG', 'S-PER', 'L-PER', 'U-X', 'B-', 'I', '0', 'B-ORG-X', 'b-org', 'O-ORG', ''])
conll_line = st.one_of(st.lists(st.one_of(words, tags), min_size=1, max_size=4).flatmap(
    lambda cols: st.sampled_from(['\t', ' ', '  ', ' \t']).map(lambda sep: sep.join(cols))),
    st.sampled_from(['', ' ', '-DOCSTART- -X- O', '# newdoc id = 1', '# comment']))
conll_file = st.tuples(st.lists(conll_line, max_size=25), st.sampled_from(['\n', '\r\n'])).map(lambda t: t[1].join(t[0]).encode())
conll_options = st.fixed_dictionaries({}, optional={
    'scheme': st.sampled_from([None, 'IOB1', 'IOB2', 'BIOES', 'IOBES']), 'to': st.sampled_from(['IOB2', 'BIOES', 'IOBES']),
    'sep': st.sampled_from([None, '\t', ' ']), 'token_col': st.integers(-3, 3), 'tag_col': st.one_of(st.none(), st.integers(-4, 3)),
    'lang_prefix': st.booleans(), 'type_map': st.sampled_from([None, {'ORG': 'O'}, {'ORG': 'PER', 'PER': 'O'}])})

def check_conll(data, opts):
    got = result_or_data_error(read_conll, write('fuzz.conll', data), **opts)
    if got is not None:
        sents, report = got
        assert sents and report.sentences == len(sents)
        assert all(len(s.words) == len(s.tags) for s in sents if s.tags is not None)

@FUZZ
@given(maybe_gzip(), conll_options)
def test_conll_any_bytes(data, opts): check_conll(data, opts)

@FUZZ
@given(maybe_gzip(conll_file), conll_options)
def test_conll_broken_structure(data, opts): check_conll(data, opts)

# Tables: a header and rows whose fields hold separators, quotes and line breaks, quoted or not, rows of the wrong length.
field = st.one_of(st.sampled_from(['text', 'label', 'pair', 'good film', '1', '0', '', ' ', 'a|b', 'a||', '|', '"', 'x"y', 'a,b',
                                   'a\tb', 'line\nbreak', 'cr\rhere', '\ufeff', 'é', 'x' * 300,
                                   'x' * 140_000]), st.text(max_size=8)) # the last: over csv's default 128 KiB field limit
def quoted(f, q): return '"' + f.replace('"', '""') + '"' if q else f
table_row = st.lists(st.tuples(field, st.booleans()), min_size=0, max_size=4)
table_rows = st.lists(table_row, min_size=0, max_size=12)
text_options = st.fixed_dictionaries({}, optional={
    'text_col': st.sampled_from(['text', 'pair', 'nope']), 'label_col': st.sampled_from([None, 'label', 'text']),
    'pair_col': st.sampled_from([None, 'pair']), 'label_sep': st.sampled_from([None, '|', ',']),
    'on_error': st.sampled_from(['raise', 'skip'])})

def check_text(path, opts):
    got = result_or_data_error(read_text, path, **opts)
    if got is not None:
        assert len(got) + len(got.skipped) > 0 or got.skipped == []
        assert all(isinstance(e.text, str) and e.text.strip() for e in got)

@FUZZ
@given(st.sampled_from(['.csv', '.tsv']), table_rows, st.sampled_from(['\n', '\r\n']), st.booleans(), text_options)
def test_table_broken_structure(suffix, rows, eol, gz, opts):
    sep = '\t' if suffix == '.tsv' else ','
    text = eol.join(sep.join(quoted(f, q) for f, q in row) for row in [[('text', False), ('label', False), ('pair', False)]] + rows)
    data = gzip.compress(text.encode()) if gz else text.encode()
    check_text(write('fuzz' + suffix + ('.gz' if gz else ''), data), opts)

@FUZZ
@given(st.sampled_from(['.csv', '.tsv', '.json', '.jsonl']), maybe_gzip(), text_options)
def test_text_readers_any_bytes(suffix, data, opts): check_text(write('bytes' + suffix, data), opts)

# JSON: any JSON value (objects with and without the columns, lists, deep nesting), then perhaps broken by a cut or an insertion.
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.sampled_from(['', ' ', 'good', 'a|b', '1']))
json_value = st.recursive(scalar, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(
    st.sampled_from(['text', 'label', 'pair', 'data', 'other']), kids, max_size=4)), max_leaves=12)
row_obj = st.fixed_dictionaries({}, optional={'text': json_value, 'label': json_value, 'pair': json_value})

@st.composite
def broken(draw, text:str)->str:
    "`text`, or `text` cut at some point, or with a stray character inserted."
    how = draw(st.sampled_from(['as is', 'as is', 'cut', 'insert']))
    if how == 'as is' or not text: return text
    i = draw(st.integers(0, len(text) - 1))
    return text[:i] if how == 'cut' else text[:i] + draw(st.sampled_from(list('{}[],:"\\\n\0') + ['NaN', '9' * 5000])) + text[i:]

# What `json.loads` refuses with other exceptions than JSONDecodeError: nesting past the recursion limit, integers of over 4,300 digits.
hostile_json = st.one_of(st.integers(500, 100_000).map(lambda n: '[' * n + ']' * n),
                         st.integers(4_301, 6_000).map(lambda n: '[{"text": "a", "label": ' + '9' * n + '}]'))
json_text = st.one_of(st.one_of(json_value, st.lists(st.one_of(row_obj, json_value), max_size=6),
                                st.fixed_dictionaries({'data': st.lists(st.one_of(row_obj, json_value), max_size=6)})).map(json.dumps),
                      hostile_json).flatmap(broken)

@FUZZ
@given(json_text, text_options)
def test_json_broken_structure(text, opts): check_text(write('fuzz.json', text.encode()), opts)

@FUZZ
@given(st.lists(st.one_of(row_obj, row_obj, json_value).map(json.dumps).flatmap(broken) | hostile_json.map(lambda t: t.strip('[]')), max_size=8),
       text_options)
def test_jsonl_broken_structure(lines, opts): check_text(write('fuzz.jsonl', '\n'.join(lines).encode()), opts)

@FUZZ
@given(maybe_gzip(soup), st.one_of(st.none(), maybe_gzip(soup)), st.sampled_from([None, '|', ',']), st.sampled_from(['raise', 'skip']))
def test_parallel_any_bytes(texts, labels, label_sep, on_error):
    label_path = None if labels is None else write('labels.txt', labels)
    result_or_data_error(read_parallel, write('texts.txt', texts), label_path, on_error=on_error, label_sep=label_sep)
