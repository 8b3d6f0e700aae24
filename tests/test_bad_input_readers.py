"""Bad input files at the reader level (issue 16): each case ends in a `DataError` whose one-line message names the file (and the line,
where the fault has one) and says what was expected, and reading writes nothing anywhere."""
import gzip, io, os, socket, threading, warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock
import pytest
from ft_nb.data.core import DataError, text_lines
from ft_nb.data.conll import read_conll
from ft_nb.data.text import read_json, read_parallel, read_split, read_table, read_text

@dataclass
class Case:
    "One bad input: how to make it in a folder, which reader reads it, and what the error must say."
    id: str
    read: Callable # the reader, called with what `make` returns
    make: Callable # folder -> the path to read (or a tuple of arguments for `read`)
    expect: str # part of the message that says what is wrong
    line: int|None = None # the line the message must name, `path:line:`
    fault: Callable|None = None # folder -> the path the message must name, when it is not the first argument
    patch: Callable|None = None # a context manager to read under

def file(name:str, data:bytes|str, *more:tuple[str, bytes|str]): # a file (or several) to write; the first is read
    "A `make` that writes `name` (and `more` files) into the folder and returns the path of `name`."
    def make(tmp):
        for n, d in ((name, data), *more): (tmp/n).parent.mkdir(parents=True, exist_ok=True); (tmp/n).write_bytes(d.encode() if isinstance(d, str) else d)
        return tmp/name
    return make

def conll(p): return read_conll(p)
def lines(p): return list(text_lines(p))
def table(p): return read_table(p)

def a_block_device(tmp):
    dev = next((p for p in Path('/dev').iterdir() if p.is_block_device()), None) if Path('/dev').is_dir() else None
    if dev is None: pytest.skip('no block device on this machine')
    return dev

def a_socket(tmp):
    s = socket.socket(socket.AF_UNIX); s.bind(str(tmp/'data.sock')) # closed with the test's folder; a socket is a path here
    return tmp/'data.sock'

def a_folder(name):
    def make(tmp): (tmp/name).mkdir(); return tmp/name
    return make

def unreadable_proc_file(tmp):
    if not Path('/proc/self/mem').exists(): pytest.skip('no /proc/self/mem')
    return Path('/proc/self/mem') # opens, then fails to read (EIO)

def deny_access(): return mock.patch('os.access', return_value=False) # what a non-root user without read permission meets
def deny_open(): return mock.patch('io.open', side_effect=PermissionError(13, 'Permission denied')) # a /sys file only root may write

def stdin_of(data:bytes|None): # `None`: a process started with standard input closed (`<&-`)
    "A `patch` that gives the reader `data` as standard input."
    return lambda: mock.patch('sys.stdin', None if data is None else io.TextIOWrapper(io.BytesIO(data)))
STDIN = lambda t: '-'
NAMED_STDIN = lambda t: '<stdin>'

GOOD_CONLL = b'EU B-ORG\nrejects O\n\nPeter B-PER\n'
GZ = gzip.compress(b'EU B-ORG\nrejects O\n\n' * 300)
CSV_GZ = gzip.compress(b'text,label\n' + b'a good film,1\n' * 300)
JSONL_GZ = gzip.compress(b'{"text": "a good film", "label": 1}\n' * 300)
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10'

def flip(data:bytes, i:int)->bytes: return data[:i] + bytes([data[i] ^ 0xff]) + data[i + 1:]

CASES = [
    # Paths: every reader goes through `check_input`, and through `open_bytes` for errors at open and while reading.
    Case('conll-missing', conll, lambda t: t/'train.txt', 'no such file: expected a readable file'),
    Case('conll-folder', conll, a_folder('corpus'), 'a folder: expected a readable file'),
    Case('conll-path-through-file', conll, lambda t: file('train.txt', GOOD_CONLL)(t)/'dev.txt', 'a part of the path is a file, not a folder'),
    Case('conll-no-read-permission', conll, file('train.txt', GOOD_CONLL), 'no permission to read it', patch=deny_access),
    Case('conll-refused-at-open', conll, file('train.txt', GOOD_CONLL), 'no permission to read it: expected a readable file', patch=deny_open),
    Case('conll-socket', conll, a_socket, 'a socket: expected a readable file'),
    Case('conll-block-device', conll, a_block_device, 'a block device: expected a readable file'),
    Case('lines-fail-while-reading', lines, unreadable_proc_file, 'cannot be read (Input/output error)'),
    Case('lines-nul-in-path', lines, lambda t: str(t/'a\0b.txt'), 'cannot be read (embedded null byte)'),
    Case('csv-folder-named-csv', read_text, a_folder('train.csv'), 'a folder: expected a readable file'),
    Case('csv-missing', read_text, lambda t: t/'train.csv', 'no such file'),
    Case('json-path-through-dev-null', read_text, lambda t: '/dev/null/train.json', 'a part of the path is a file, not a folder'),
    Case('jsonl-no-read-permission', read_text, file('train.jsonl', '{"text": "a", "label": 1}\n'), 'no permission to read it',
         patch=deny_access),
    Case('folder-without-suffix', read_text, a_folder('data'), 'a folder: expected a readable file'),
    Case('parallel-labels-missing', read_parallel, lambda t: (file('text.txt', 'a\nb\n')(t), t/'labels.txt'), 'no such file',
         fault=lambda t: t/'labels.txt'),
    Case('parallel-text-is-folder', read_parallel, a_folder('text.txt'), 'a folder: expected a readable file'),
    Case('split-folder-missing', read_split, lambda t: t/'umsab', 'no such folder: expected a readable folder'),
    Case('split-folder-is-file', read_split, file('umsab', 'x'), 'a file: expected a readable folder'),
    Case('split-file-missing', read_split, lambda t: (a_folder('umsab')(t), 'dev'), 'no such file: expected a readable file',
         fault=lambda t: t/'umsab'/'dev_text.txt'),
    Case('stdin-closed', conll, STDIN, 'standard input is closed', fault=NAMED_STDIN, patch=stdin_of(None)),
    Case('stdin-missing-column', conll, STDIN, 'expected 2 columns like line 1, found 1', line=2, fault=NAMED_STDIN,
         patch=stdin_of(b'EU B-ORG\nrejects\n')),
    Case('stdin-not-utf8', lines, STDIN, 'byte 0xe9 at byte offset 3 is not UTF-8', line=1, fault=NAMED_STDIN, patch=stdin_of(b'caf\xe9\n')),
    Case('stdin-gzip-cut', lines, STDIN, 'corrupt gzip data', fault=NAMED_STDIN, patch=stdin_of(GZ[:40])),
    # Bytes that are not UTF-8 text, wherever they are.
    Case('conll-nul-byte', conll, file('train.txt', b'EU B-ORG\nrej\0ects O\n'), 'NUL byte at byte offset 12', line=2),
    Case('conll-utf16-with-bom', conll, file('train.txt', '\ufeffEU B-ORG\n'.encode('utf-16-le')), 'this looks like a binary (or UTF-16)', line=1),
    Case('csv-nul-byte', table, file('train.csv', b'text,label\ngood,1\nb\0d,0\n'), 'NUL byte at byte offset', line=3),
    Case('csv-that-is-a-png', read_text, file('train.csv', PNG), 'NUL byte at byte offset 8', line=3),
    Case('tsv-random-bytes', read_text, file('train.tsv', bytes(range(256)) * 4), 'NUL byte at byte offset 0', line=1),
    Case('csv-latin1', read_text, file('train.csv', 'text,label\ncaf\xe9,1\n'.encode('latin-1')), 'byte 0xe9 at byte offset 14 is not UTF-8',
         line=2),
    Case('parallel-latin1-labels', read_parallel, lambda t: (file('t.txt', 'a\nb\n')(t), file('l.txt', b'1\n\xe9\n')(t)), 'is not UTF-8',
         line=2, fault=lambda t: t/'l.txt'),
    # Gzip that is cut short or damaged: the file is named, and the line reached when it broke.
    Case('conll-gzip-truncated', conll, file('train.txt.gz', GZ[:len(GZ) // 2]), 'corrupt gzip data (Compressed file ended'),
    Case('conll-gzip-magic-only', conll, file('train.txt', b'\x1f\x8b'), 'corrupt gzip data', line=1),
    Case('csv-gzip-corrupt', read_text, file('train.csv.gz', flip(CSV_GZ, 12)), 'corrupt gzip data'),
    Case('jsonl-gzip-bad-crc', read_text, file('train.jsonl', JSONL_GZ[:-8] + b'\0\0\0\0' + JSONL_GZ[-4:]), 'CRC check failed', line=301),
    Case('lines-gzip-trailing-garbage', lines, file('x.txt', GZ + b'garbage!'), 'corrupt gzip data'),
    # Empty files and files without rows.
    Case('conll-empty', conll, file('train.txt', ''), 'empty file: no sentences in 0 lines', line=1),
    Case('conll-only-docstart', conll, file('train.txt', '-DOCSTART- -X- O\n\n'), 'empty file: no sentences in 2 lines', line=2),
    Case('csv-empty', read_text, file('train.csv', ''), 'empty file'),
    Case('jsonl-only-blank-lines', read_text, file('train.jsonl', '\n \r\n\n'), 'empty file'),
    Case('csv-only-header', read_text, file('train.csv', 'text,label\n'), 'no rows after the header', line=1),
    Case('tsv-only-header-after-blank-lines', read_text, file('train.tsv', '\n\ntext\tlabel\r\n'), 'no rows after the header', line=3),
    Case('json-empty-array', read_text, file('train.json', '[]'), 'no rows: expected objects'),
    Case('parallel-empty-text', read_parallel, file('text.txt', '\n\n'), 'empty file'),
    # JSON that is not an array of objects, and JSON Lines with a line that is not an object.
    Case('json-a-string', read_text, file('train.json', '"a good film"'), 'found str: expected a list of objects'),
    Case('json-data-not-a-list', read_text, file('train.json', '{"data": 3}'), 'found int: expected a list of objects'),
    Case('json-array-of-numbers', read_text, file('train.json', '[1, 2]'), 'expected an object with fields, got int'),
    Case('json-syntax', read_text, file('train.json', '[{"text": "a",\n "label": }]'), 'not valid JSON', line=2),
    Case('json-too-deep', read_text, file('train.json', '[' * 100_000 + ']' * 100_000), 'not usable JSON (maximum recursion depth', line=1),
    Case('jsonl-not-an-object', read_text, file('train.jsonl', '{"text": "a", "label": 1}\n[1, 2]\n'), 'expected an object with fields, got list',
         line=2),
    Case('jsonl-syntax', read_text, file('train.jsonl', '{"text": "a", "label": 1}\n\n{"text": "b", "lab\n'), 'not valid JSON', line=3),
    Case('jsonl-huge-integer', read_text, file('train.jsonl', '{"text": "a", "label": ' + '9' * 5000 + '}\n'), 'not usable JSON (Exceeds', line=1),
    # Structure: columns, fields, tags, line endings; the lines named are those an editor shows.
    Case('conll-crlf-missing-column', conll, file('train.txt', b'EU NNP B-ORG\r\nrejects VBZ\r\n'), 'expected 3 columns like line 1, found 2', line=2),
    Case('conll-bad-tag', conll, file('train.txt', '\ufeffEU B-ORG\nrejects 0\n'), "invalid tag '0'", line=2),
    Case('csv-crlf-missing-label', read_text, file('train.csv', b'text,label\r\ngood,1\r\nbad,\r\n'), "missing label (column 'label')", line=3),
    Case('csv-unterminated-quote', read_text, file('train.csv', 'text,label\n"a good film,1\nanother,0\n'), '1 fields, but the header has 2',
         line=2),
    Case('csv-huge-field-then-extra-field', read_text, file('train.csv', 'text,label\n"' + 'x' * 200_000 + '",1\nok,0,extra\n'),
         '3 fields, but the header has 2', line=3),
    Case('csv-column-twice', read_text, file('train.csv', 'text,label,text\na,1,b\n'), "column 'text' appears 2 times in the header", line=1),
    Case('jsonl-nan-label', read_text, file('train.jsonl', '{"text": "a", "label": 1}\n{"text": "b", "label": NaN}\n'),
         'not usable JSON (NaN is not a JSON value)', line=2),
    Case('csv-no-such-column', read_text, file('train.csv', 'sentence,label\na,1\n'), "no column 'text'; the columns are ['sentence', 'label']"),
    Case('parallel-misaligned', read_parallel, lambda t: (file('t.txt', 'a\nb\nc\n')(t), file('l.txt', '1\n0\n')(t)), 'has 3 lines but'),
    Case('unknown-format', read_text, file('train.xlsx', b'PK\x03\x04'), "unknown format '.xlsx'"),
]

def snapshot(*folders)->dict:
    "Every path under `folders` with its size and modification time."
    return {p: (s.st_size, s.st_mtime_ns) for f in folders for p in Path(f).rglob('*') if not p.is_socket() for s in [p.lstat()]}

def read_case(case:Case, args:tuple):
    with (case.patch() if case.patch else nullcontext()), warnings.catch_warnings():
        warnings.simplefilter('error') # a warning instead of the error would be a silent outcome
        return case.read(*args)

@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_data_error_naming_the_file(case, tmp_path):
    made = case.make(tmp_path)
    args = made if isinstance(made, tuple) else (made,)
    fault = str(case.fault(tmp_path) if case.fault else args[0])
    before = snapshot(tmp_path, Path.cwd())
    with pytest.raises(DataError) as e: read_case(case, args)
    msg = str(e.value)
    assert msg.startswith(fault) and msg[len(fault)] in ':[ ', f"the message names the file first: {msg[:300]}" # `[i]`: a JSON array's row
    if case.line is not None: assert msg.startswith(f"{fault}:{case.line}:"), f"the message names line {case.line}: {msg[:300]}"
    assert case.expect in msg, msg[:300]
    assert '\n' not in msg and 'Traceback' not in msg, 'one line, no traceback'
    assert snapshot(tmp_path, Path.cwd()) == before, 'reading wrote nothing'

def test_enough_cases(): assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)

def test_what_used_to_fail_now_reads(tmp_path):
    "Edge cases that are not errors: a field over csv's 128 KiB limit, a BOM, CRLF, a gzip `.csv.gz`, a FIFO."
    long = 'x' * 200_000
    (tmp_path/'long.csv').write_text(f'\ufefftext,label\r\n"{long}",1\r\n')
    assert [(e.text, e.label) for e in read_text(tmp_path/'long.csv')] == [(long, '1')]
    (tmp_path/'z.tsv.gz').write_bytes(gzip.compress(b'text\tlabel\nfine\t0\n'))
    assert read_text(tmp_path/'z.tsv.gz')[0].label == '0'
    os.mkfifo(tmp_path/'fifo')
    def write():
        with open(tmp_path/'fifo', 'wb') as f: f.write(GOOD_CONLL)
    writer = threading.Thread(target=write); writer.start()
    try: sents, _ = read_conll(tmp_path/'fifo')
    finally: writer.join()
    assert [s.words for s in sents] == [['EU', 'rejects'], ['Peter']]
